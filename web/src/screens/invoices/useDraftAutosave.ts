import { useForm, type UseFormReturnType } from "@mantine/form";
import { useDebouncedCallback } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { api, data } from "@/api/client";
import { ApiProblem, fieldErrors, fieldOf, type ProblemItem } from "@/api/problem";
import { flatten } from "@/components/useApiForm";
import { draftBody, draftValues, type DraftValues } from "./draft";
import { invoiceKey, type Invoice } from "./queries";

export type SaveState = "saved" | "pending" | "saving" | "failed";

export interface DraftAutosave {
  form: UseFormReturnType<DraftValues>;
  state: SaveState;
  error: unknown;
  unplaced: ProblemItem[];
  /** Saves what is still waiting; rejects with the problem when the draft is not saved. */
  settle: () => Promise<void>;
}

/** Where an error of the API shows in the editor: a line's tax rate on the line's tax field. */
function formKey(key: string): string {
  return key.replace(/(\.tax_rate_ids)\.\d+$/, "$1");
}

const SAVE_DELAY_MS = 600;

/**
 * A draft's editor that saves itself: each change, once typing pauses, is PATCHed, and the
 * answer (with the totals the API computed) replaces the cached invoice. Answers to older
 * saves are ignored, so a slow one never overwrites a newer state.
 */
export function useDraftAutosave(invoice: Invoice): DraftAutosave {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SaveState>("saved");
  const [error, setError] = useState<unknown>(null);
  const [unplaced, setUnplaced] = useState<ProblemItem[]>([]);
  const serial = useRef(0);
  const inFlight = useRef<Promise<void>>(Promise.resolve());
  const lastError = useRef<unknown>(null);

  const form = useForm<DraftValues>({
    mode: "controlled",
    initialValues: draftValues(invoice),
    onValuesChange: (values) => {
      setState("pending");
      saveLater(values);
    },
  });

  const save = async (values: DraftValues) => {
    serial.current += 1;
    const mine = serial.current;
    setState("saving");
    try {
      const saved = data(
        await api.PATCH("/v1/invoices/{invoice_id}", {
          params: { path: { invoice_id: invoice.id } },
          body: draftBody(values),
        }),
      );
      if (mine !== serial.current) return;
      lastError.current = null;
      queryClient.setQueryData(invoiceKey(invoice.id), saved);
      form.clearErrors();
      setError(null);
      setUnplaced([]);
      setState("saved");
    } catch (caught) {
      if (mine !== serial.current) return;
      lastError.current = caught;
      setError(caught);
      setState("failed");
      if (caught instanceof ApiProblem) {
        const paths = flatten(values);
        const shown = Object.entries(fieldErrors(caught.problem))
          .map(([key, detail]) => [formKey(key), detail] as const)
          .filter(([key]) => key in paths);
        const shownKeys = new Set(shown.map(([key]) => key));
        form.setErrors(Object.fromEntries(shown));
        setUnplaced(
          (caught.problem.errors ?? []).filter((item) => {
            const key = fieldOf(item);
            return key === null || !shownKeys.has(formKey(key));
          }),
        );
      } else {
        setUnplaced([]);
      }
    }
  };

  const saveLater = useDebouncedCallback((values: DraftValues) => {
    inFlight.current = save(values);
  }, { delay: SAVE_DELAY_MS, flushOnUnmount: true });

  const settle = async () => {
    saveLater.flush();
    await inFlight.current;
    if (lastError.current) throw lastError.current;
  };

  return { form, state, error, unplaced, settle };
}
