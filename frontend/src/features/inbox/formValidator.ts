/**
 * The one place the inbox's forms get their validator: the editor's CSP-safe one, which
 * interprets the schema instead of compiling it (the pages' Content-Security-Policy has no
 * 'unsafe-eval'). The only import of another feature in features/inbox; when the
 * validator moves to a shared module, this line follows it.
 */
export { cspSafeValidator as formValidator } from "../inspector/validator";
