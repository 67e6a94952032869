import { PasswordInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";

import { confirmationError } from "./authFlow";

export interface NewPasswordValues extends Record<string, unknown> {
  password: string;
  confirmation: string;
}

/** The form's validation: the confirmation must repeat the password. */
export const newPasswordValidation = {
  confirmation: (value: string, values: NewPasswordValues) => confirmationError(values.password, value),
};

/** A new password and its confirmation; the API's policy (length, common passwords) answers on the first. */
export function NewPasswordFields<Values extends NewPasswordValues>({
  form,
  label = "New password",
}: {
  form: UseFormReturnType<Values>;
  label?: string;
}) {
  return (
    <>
      <PasswordInput
        label={label}
        description="At least 12 characters; a few unrelated words make a good one."
        autoComplete="new-password"
        required
        {...form.getInputProps("password")}
      />
      <PasswordInput
        label="Repeat the new password"
        autoComplete="new-password"
        required
        {...form.getInputProps("confirmation")}
      />
    </>
  );
}
