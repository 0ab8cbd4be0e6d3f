/** An edge that shows its validation problem as a red line with a "!" marker and tooltip. */
import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from "@xyflow/react";
import { memo } from "react";

function WeftEdgeView(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd, style } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const problem = (data as { problem?: string } | undefined)?.problem;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={16} />
      {problem ? (
        <EdgeLabelRenderer>
          <div
            className="edge-problem-marker nodrag nopan"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            title={problem}
            role="img"
            aria-label={`Problem: ${problem}`}
          >
            !
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

export const WeftEdge = memo(WeftEdgeView);
