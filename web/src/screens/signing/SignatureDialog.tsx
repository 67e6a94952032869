import { Button, Group, Modal, Stack, Tabs, Text, TextInput } from "@mantine/core";
import SignaturePad from "signature_pad";
import { useCallback, useEffect, useRef, useState } from "react";

import { initialsOf } from "./marks";
import type { Adopted } from "./types";

/** The script face typed signatures are shown in here and stamped in with on the PDF. */
export const SCRIPT_FONT = '"Z003", "URW Chancery L", cursive';

interface Props {
  mark: "signature" | "initials";
  opened: boolean;
  signerName: string;
  current: Adopted | undefined;
  onClose: () => void;
  onAdopt: (adopted: Adopted) => void;
}

/** Adopt a signature (or initials): typed in the script face, or drawn with a pointer. */
export function SignatureDialog({ mark, opened, signerName, current, onClose, onAdopt }: Props) {
  const noun = mark === "signature" ? "signature" : "initials";
  return (
    <Modal opened={opened} onClose={onClose} title={`Adopt your ${noun}`} centered size="lg" closeButtonProps={{ "aria-label": "Close" }}>
      {opened && (
        <AdoptForm
          mark={mark}
          initialText={current?.kind === "typed" ? current.text : mark === "signature" ? signerName : initialsOf(signerName)}
          onAdopt={(adopted) => {
            onAdopt(adopted);
            onClose();
          }}
          onCancel={onClose}
        />
      )}
    </Modal>
  );
}

interface FormProps {
  mark: "signature" | "initials";
  initialText: string;
  onAdopt: (adopted: Adopted) => void;
  onCancel: () => void;
}

function AdoptForm({ mark, initialText, onAdopt, onCancel }: FormProps) {
  const noun = mark === "signature" ? "signature" : "initials";
  const [tab, setTab] = useState<string | null>("type");
  const [text, setText] = useState(initialText);
  const [error, setError] = useState<string | null>(null);
  const padRef = useRef<SignaturePad | null>(null);
  // Stable, so the pad (and what is drawn on it) survives the dialog's re-renders.
  const clearError = useCallback(() => setError(null), []);

  const adopt = () => {
    if (tab === "draw") {
      if (!padRef.current || padRef.current.isEmpty()) return setError(`Draw your ${noun} in the box first.`);
      const image = padRef.current.toDataURL("image/png").replace(/^data:image\/png;base64,/, "");
      return onAdopt({ kind: "drawn", image_png_base64: image });
    }
    if (!text.trim()) return setError(`Type your ${noun} first.`);
    onAdopt({ kind: "typed", text: text.trim() });
  };

  return (
    <Stack>
      <Tabs value={tab} onChange={(value) => { setTab(value); setError(null); }}>
        <Tabs.List>
          <Tabs.Tab value="type">Type</Tabs.Tab>
          <Tabs.Tab value="draw">Draw</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="type" pt="md">
          <Stack gap="sm">
            <TextInput
              label={mark === "signature" ? "Your name as you sign it" : "Your initials"}
              value={text}
              onChange={(event) => setText(event.currentTarget.value)}
              error={tab === "type" ? error : null}
              maxLength={mark === "signature" ? 100 : 10}
              data-autofocus
            />
            <Text
              role="img"
              aria-label={`Preview of your ${noun}`}
              data-testid="typed-preview"
              style={{ fontFamily: SCRIPT_FONT, fontSize: 40, lineHeight: 1.3, minHeight: 60, borderBottom: "1px solid var(--mantine-color-gray-5)" }}
            >
              {text}
            </Text>
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="draw" pt="md">
          <DrawPad padRef={padRef} label={`Draw your ${noun}`} error={tab === "draw" ? error : null} onStroke={clearError} />
        </Tabs.Panel>
      </Tabs>
      <Text size="xs" c="gray.7">
        By adopting it, you agree that this {noun} stands for your handwritten one on these documents.
      </Text>
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel}>
          Cancel
        </Button>
        <Button onClick={adopt}>Adopt {noun}</Button>
      </Group>
    </Stack>
  );
}

interface DrawPadProps {
  padRef: React.RefObject<SignaturePad | null>;
  label: string;
  error: string | null;
  onStroke: () => void;
}

function DrawPad({ padRef, label, error, onStroke }: DrawPadProps) {
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    // A canvas draws in device pixels: size it to its box times the pixel ratio, or the strokes blur.
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    element.width = element.offsetWidth * ratio;
    element.height = element.offsetHeight * ratio;
    element.getContext("2d")?.scale(ratio, ratio);
    const instance = new SignaturePad(element, { penColor: "#1a1b4b", backgroundColor: "rgba(0,0,0,0)" });
    padRef.current = instance;
    instance.addEventListener("endStroke", onStroke);
    return () => {
      instance.removeEventListener("endStroke", onStroke);
      instance.off();
      padRef.current = null;
    };
  }, [padRef, onStroke]);

  return (
    <Stack gap="xs">
      <Text size="sm" fw={500} id="draw-label">
        {label}
      </Text>
      <canvas
        ref={canvas}
        role="img"
        aria-labelledby="draw-label"
        data-testid="signature-canvas"
        style={{ width: "100%", height: 180, border: "1px solid var(--mantine-color-gray-5)", borderRadius: 4, touchAction: "none", background: "white" }}
      />
      {error && (
        <Text size="sm" c="red.8" role="alert">
          {error}
        </Text>
      )}
      <Group justify="space-between">
        <Text size="xs" c="gray.7">
          With a mouse, a finger or a stylus. On a keyboard, use Type.
        </Text>
        <Button variant="subtle" size="xs" onClick={() => padRef.current?.clear()}>
          Clear
        </Button>
      </Group>
    </Stack>
  );
}
