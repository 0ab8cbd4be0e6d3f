import type { ButtonHTMLAttributes, ReactNode } from "react";
import { Icon } from "./Icon";

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  icon?: string;
  variant?: "primary" | "danger" | "ghost" | "default";
  children?: ReactNode;
  /** Accessible name; also the tooltip. Required for icon-only buttons. */
  label?: string;
}

export function Button({ icon, variant = "default", children, label, className, ...rest }: ButtonProps) {
  return (
    <button
      type="button"
      className={`btn btn-${variant}${children ? "" : " btn-icon"}${className ? ` ${className}` : ""}`}
      aria-label={label}
      title={label}
      {...rest}
    >
      {icon ? <Icon name={icon} /> : null}
      {children ? <span>{children}</span> : null}
    </button>
  );
}
