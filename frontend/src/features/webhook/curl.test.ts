import { describe, expect, it } from "vitest";
import { curlExample } from "./WebhookPanel";

describe("curl example", () => {
  it("posts JSON to the URL, signing it when the trigger asks for a signature", () => {
    const plain = curlExample("https://w.example/hooks-test/abc/", "");
    expect(plain).toContain("curl -X POST 'https://w.example/hooks-test/abc/'");
    expect(plain).not.toContain("openssl");
    const signed = curlExample("https://w.example/hooks-test/abc/", "X-Signature");
    expect(signed).toContain(`printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$KEY"`);
    expect(signed).toContain(`-H "X-Signature: t=$TS,v1=$SIG"`);
  });
});
