import { Image, Loader } from "@mantine/core";
import { useEffect, useState } from "react";

/** A QR code of ``value`` (an otpauth:// URI), drawn in the browser as a data: image. */
export function QrCode({ value, alt }: { value: string; alt: string }) {
  const [source, setSource] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    // Loaded on demand: only someone setting up two-factor needs the encoder.
    void import("qrcode")
      .then((qrcode) => qrcode.toDataURL(value, { margin: 1, width: 200, errorCorrectionLevel: "M" }))
      .then((url) => {
        if (current) setSource(url);
      });
    return () => {
      current = false;
    };
  }, [value]);

  if (!source) return <Loader size="sm" aria-label="Drawing the QR code" />;
  return <Image src={source} alt={alt} w={200} h={200} radius="sm" />;
}
