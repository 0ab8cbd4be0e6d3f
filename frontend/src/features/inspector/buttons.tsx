/**
 * rjsf's button templates, drawn with our icons and words. The stock ones use Bootstrap
 * glyphicon fonts this page does not load, so they showed an empty square.
 */
import type { IconButtonProps, TemplatesType } from "@rjsf/utils";
import { Icon } from "../../ui/Icon";

function IconButton({ icon, label, danger, showLabel, ...props }: IconButtonProps & { icon: string; label: string; danger?: boolean; showLabel?: boolean }) {
  const { id, className, onClick, disabled, style } = props;
  return (
    <button
      type="button"
      id={id}
      className={`form-button${danger ? " form-button-danger" : ""}${showLabel ? "" : " form-button-icon"} ${className ?? ""}`}
      title={label}
      aria-label={label}
      onClick={onClick}
      disabled={disabled}
      style={style}
    >
      <Icon name={icon} size={14} />
      {showLabel ? <span>{label}</span> : null}
    </button>
  );
}

export const buttonTemplates: Partial<TemplatesType["ButtonTemplates"]> = {
  AddButton: (props) => <IconButton {...props} icon="plus" label="Add" showLabel className="btn-add" />,
  RemoveButton: (props) => <IconButton {...props} icon="trash" label="Remove" danger className="array-item-remove" />,
  MoveUpButton: (props) => <IconButton {...props} icon="arrow-up" label="Move up" className="array-item-move-up" />,
  MoveDownButton: (props) => <IconButton {...props} icon="arrow-down" label="Move down" className="array-item-move-down" />,
  CopyButton: (props) => <IconButton {...props} icon="copy" label="Copy" className="array-item-copy" />,
  ClearButton: (props) => <IconButton {...props} icon="x" label="Clear" className="btn-clear" />,
};
