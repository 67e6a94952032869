import { useForm, type UseFormInput, type UseFormReturnType } from "@mantine/form";
import { useState } from "react";

import { ApiProblem, fieldErrors, unplacedErrors, type ProblemItem } from "@/api/problem";

export interface ApiForm<Values extends Record<string, unknown>> {
  form: UseFormReturnType<Values>;
  /** The problem of the last submit, for ProblemAlert. */
  error: unknown;
  /** Its errors that no field of the form shows. */
  unplaced: ProblemItem[];
  /** Runs ``send`` with the values; a problem answer puts each error on its field. */
  submit: (send: (values: Values) => Promise<unknown>) => (event?: React.FormEvent<HTMLFormElement>) => void;
  submitting: boolean;
}

/**
 * A Mantine form whose submit calls the API and shows its problem+json answer: each error's
 * pointer on the field it names, the rest in the alert.
 */
export function useApiForm<Values extends Record<string, unknown>>(
  input: UseFormInput<Values>,
): ApiForm<Values> {
  const form = useForm<Values>({ mode: "controlled", ...input });
  const [error, setError] = useState<unknown>(null);
  const [unplaced, setUnplaced] = useState<ProblemItem[]>([]);
  const [submitting, setSubmitting] = useState(false);

  const submit = (send: (values: Values) => Promise<unknown>) =>
    form.onSubmit(async (values) => {
      setError(null);
      setUnplaced([]);
      setSubmitting(true);
      try {
        await send(values);
      } catch (caught) {
        setError(caught);
        if (caught instanceof ApiProblem) {
          const fields = fieldErrors(caught.problem);
          const shown = Object.keys(fields).filter((key) => key in flatten(form.getValues()));
          form.setErrors(Object.fromEntries(shown.map((key) => [key, fields[key]])));
          setUnplaced(unplacedErrors(caught.problem, shown));
        }
      } finally {
        setSubmitting(false);
      }
    });

  return { form, error, unplaced, submit, submitting };
}

/** Every path of a form's values ("lines.0.quantity"), so an error lands only on a real field. */
export function flatten(values: unknown, prefix = "", into: Record<string, true> = {}) {
  if (values !== null && typeof values === "object" && !(values instanceof Date)) {
    for (const [key, value] of Object.entries(values)) {
      const path = prefix ? `${prefix}.${key}` : key;
      into[path] = true;
      flatten(value, path, into);
    }
  }
  return into;
}
