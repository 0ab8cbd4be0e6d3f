/**
 * The one place the inbox's forms get their validator, so it can be swapped for the
 * editor's CSP-safe one (features/inspector/validator.ts) in one line.
 */
import { customizeValidator } from "@rjsf/validator-ajv8";

export const formValidator = customizeValidator({ ajvOptionsOverrides: { strict: false } });
