/**
 * One workflow node on the canvas: icon, name, type, a handle per declared port.
 * It reads its type, problems and run status from the store by id, so a change to
 * one node's status re-renders that node only.
 */
import { Handle, Position, useUpdateNodeInternals, type NodeProps } from "@xyflow/react";
import { memo, useEffect } from "react";
import { drawnPorts } from "../../core/portRules";
import { typeKey } from "../../core/types";
import { useEditor } from "../../infrastructure/context";
import { Icon } from "../../ui/Icon";
import type { WeftFlowNode } from "./toFlow";

const STATUS_LABEL: Record<string, string> = {
  pending: "Pending",
  queued: "Queued",
  running: "Running",
  waiting: "Waiting",
  succeeded: "Succeeded",
  failed: "Failed",
  skipped: "Skipped",
  cancelled: "Cancelled",
};

function WeftNodeView({ id, data, selected }: NodeProps<WeftFlowNode>) {
  const spec = useEditor((s) => s.typeIndex[typeKey(data.nodeType, data.version)]);
  const problems = useEditor((s) => (s.viewing ? undefined : s.problemIndex.byNode[id]));
  const status = useEditor((s) => s.run?.nodes[id]?.status);
  const pinned = useEditor((s) => !s.viewing && !!s.pins[id]);
  const change = useEditor((s) => (s.viewing?.kind === "version" ? s.viewing.compare?.result.byNode[id] : undefined));
  const errors = problems?.filter((p) => p.severity === "error") ?? [];
  const warnings = problems?.filter((p) => p.severity === "warning") ?? [];
  // Ports follow the config (a Switch's cases, the error port of the failure policy);
  // a port only an existing edge still uses is drawn too, marked, so that edge shows.
  const ports = spec ? drawnPorts(spec, data.config, data.usedOut, data.usedIn) : null;
  const inputs = ports?.inputs ?? [];
  const outputs = ports?.outputs ?? [];
  // Handles that come and go must be measured again before edges can attach to them.
  const updateNodeInternals = useUpdateNodeInternals();
  const portKey = `${inputs.map((p) => p.name).join(",")}|${outputs.map((p) => p.name).join(",")}`;
  useEffect(() => updateNodeInternals(id), [id, portKey, updateNodeInternals]);
  const rows = Math.max(inputs.length, outputs.length);
  const tooltip = problems?.map((p) => `${p.severity === "error" ? "Error" : "Warning"}: ${p.message}`).join("\n");
  const classes = [
    "weft-node",
    `cat-${spec?.category ?? "unknown"}`,
    selected ? "is-selected" : "",
    errors.length ? "has-error" : warnings.length ? "has-warning" : "",
    status ? `run-${status}` : "",
    pinned ? "is-pinned" : "",
    change ? `diff-${change}` : "",
    spec ? "" : "is-unknown",
  ].join(" ");
  return (
    <div className={classes} title={tooltip || undefined} aria-label={`${data.name} (${spec?.label ?? data.nodeType})${change ? `, ${change}` : ""}`}>
      <div className="weft-node-header">
        <span className="weft-node-icon">
          <Icon name={spec?.icon ?? "box"} size={16} />
        </span>
        <span className="weft-node-titles">
          <span className="weft-node-name">{data.name || spec?.label || data.nodeType}</span>
          {!spec ? (
            <span className="weft-node-type">{`Unknown type ${data.nodeType} v${data.version}`}</span>
          ) : data.name && data.name !== spec.label ? (
            <span className="weft-node-type">{spec.label}</span>
          ) : null}
        </span>
        {pinned ? (
          <span className="weft-node-pin" title="Pinned: test runs use its pinned output instead of running it" aria-label="Pinned">
            <Icon name="pin" size={13} />
          </span>
        ) : null}
        {errors.length || warnings.length ? (
          <span className={`weft-node-badge ${errors.length ? "badge-error" : "badge-warning"}`} aria-label={`${errors.length + warnings.length} problems`}>
            !
          </span>
        ) : null}
      </div>
      {status ? (
        <div className={`weft-node-status status-${status}`} role="status">
          {STATUS_LABEL[status] ?? status}
        </div>
      ) : null}
      {rows > 0 ? (
        <div className="weft-node-ports">
          {Array.from({ length: rows }, (_, i) => {
            const input = inputs[i];
            const output = outputs[i];
            const showLabels = inputs.length > 1 || outputs.length > 1 || (input && input.name !== "in") || (output && output.name !== "out");
            return (
              <div className="weft-port-row" key={i}>
                <span className="weft-port weft-port-in">
                  {input ? (
                    <>
                      <Handle
                        type="target"
                        position={Position.Left}
                        id={input.name}
                        className={`handle-in${input.required ? " is-required" : ""}${input.multiple ? " is-multiple" : ""}${ports?.stale.has(`in:${input.name}`) ? " is-stale" : ""}`}
                        title={`${input.label || input.name}${input.multiple ? " (takes several connections)" : ""}`}
                      />
                      {showLabels ? <span className="port-label">{input.label || input.name}</span> : null}
                    </>
                  ) : null}
                </span>
                <span className="weft-port weft-port-out">
                  {output ? (
                    <>
                      {showLabels ? <span className={`port-label${ports?.stale.has(`out:${output.name}`) ? " is-stale" : ""}`}>{output.label || output.name}</span> : null}
                      <Handle
                        type="source"
                        position={Position.Right}
                        id={output.name}
                        className={`handle-out${ports?.stale.has(`out:${output.name}`) ? " is-stale" : ""}`}
                        title={ports?.stale.has(`out:${output.name}`) ? `${output.name}: not given by this node's settings; its connection never carries data` : output.label || output.name}
                        data-port={output.name}
                      />
                    </>
                  ) : null}
                </span>
              </div>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}

export const WeftNode = memo(WeftNodeView);
