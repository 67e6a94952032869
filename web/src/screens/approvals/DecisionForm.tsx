import { Button, Checkbox, Group, NumberInput, Select, Stack, Textarea, TextInput } from "@mantine/core";
import { DateInput } from "@mantine/dates";

import { fieldLabel, formPayload, initialValues, type FieldValue, type FormField } from "./approvalForm";
import type { ApprovalDetail } from "./approvalQueries";
import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import { ConfirmAction } from "@/components/ConfirmAction";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm, type ApiForm } from "@/components/useApiForm";

interface Values extends Record<string, unknown> {
  comment: string;
  form: Record<string, FieldValue>;
}

interface Props {
  detail: ApprovalDetail;
  onDecided: (detail: ApprovalDetail) => Promise<void>;
  /** The API refused because the approval is no longer open to this member's vote. */
  onRefused: (error: unknown) => Promise<void>;
}

/** The approval's own form fields, a comment, and approve or reject. */
export function DecisionForm({ detail, onDecided, onRefused }: Props) {
  const apiForm = useApiForm<Values>({
    initialValues: { comment: "", form: initialValues(detail.form) },
  });
  const { form, error, unplaced, submit, submitting } = apiForm;

  const decide = async (decision: "approve" | "reject", values: Values) => {
    try {
      const decided = data(
        await api.POST("/v1/approvals/{approval_id}", {
          params: { path: { approval_id: detail.id } },
          body: {
            decision,
            comment: values.comment.trim() || null,
            // A rejection may leave the fields out; approving fills in the required ones.
            form: decision === "approve" ? formPayload(detail.form, values.form) : null,
          },
        }),
      );
      await onDecided(decided);
    } catch (caught) {
      if (caught instanceof ApiProblem && caught.status === 409) await onRefused(caught);
      throw caught;
    }
  };

  return (
    <form onSubmit={submit((values) => decide("approve", values))} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        {Object.entries(detail.form).map(([name, field]) => (
          <FormFieldInput key={name} name={name} field={field} apiForm={apiForm} />
        ))}
        <Textarea
          label="Comment"
          description="Shown with your vote; a rejection's comment tells the run why."
          autosize
          minRows={2}
          maxLength={2000}
          {...form.getInputProps("comment")}
        />
        <Group justify="flex-end">
          <ConfirmAction
            label="Reject"
            title="Reject this request?"
            consequence="One rejection rejects: the run takes its rejected path, with your comment. This cannot be undone."
            onConfirm={() => decide("reject", form.getValues())}
          />
          <Button type="submit" loading={submitting} color="teal.9">
            Approve
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function FormFieldInput({
  name,
  field,
  apiForm,
}: {
  name: string;
  field: FormField;
  apiForm: ApiForm<Values>;
}) {
  const props = apiForm.form.getInputProps(`form.${name}`);
  const common = { label: fieldLabel(name, field), required: field.required ?? false };
  switch (field.type) {
    case "text":
      return <Textarea {...common} autosize minRows={2} maxLength={field.max_length} {...props} />;
    case "number":
      return <NumberInput {...common} {...props} />;
    case "integer":
      return <NumberInput {...common} allowDecimal={false} {...props} />;
    case "boolean":
      return (
        <Checkbox
          label={common.label}
          {...apiForm.form.getInputProps(`form.${name}`, { type: "checkbox" })}
        />
      );
    case "date":
      return <DateInput {...common} valueFormat="D MMM YYYY" clearable {...props} />;
    case "choice":
      return <Select {...common} data={field.choices ?? []} clearable {...props} />;
    default:
      return <TextInput {...common} maxLength={field.max_length} {...props} />;
  }
}
