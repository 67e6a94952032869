import { describe, expect, it } from "vitest";

import { hourMinute, settingsBody, settingsValues } from "./settingsForm";

const settings = {
  documents_quota_bytes: 10 * 1024 ** 3,
  upload_limit_bytes: 100 * 1024 ** 2,
  allowed_upload_types: ["application/pdf", "text/plain"],
  search_config: "english",
  business_days: [1, 2, 3, 4, 5],
  business_start: "09:00:00",
  business_end: "17:30:00",
};

describe("settings form", () => {
  it("shows sizes in megabytes and times as hours and minutes", () => {
    expect(settingsValues(settings)).toEqual({
      documents_quota_bytes: 10240,
      upload_limit_bytes: 100,
      allowed_upload_types: ["application/pdf", "text/plain"],
      search_config: "english",
      business_days: ["1", "2", "3", "4", "5"],
      business_start: "09:00",
      business_end: "17:30",
    });
  });

  it("sends bytes, sorted days and clean types back", () => {
    const values = {
      ...settingsValues(settings),
      business_days: ["5", "1"],
      allowed_upload_types: [" Application/PDF ", ""],
    };
    expect(settingsBody(values)).toEqual({
      ...settings,
      business_days: [1, 5],
      allowed_upload_types: ["application/pdf"],
      business_start: "09:00",
      business_end: "17:30",
    });
  });

  it("leaves an emptied size for the API to refuse on its field", () => {
    expect(settingsBody({ ...settingsValues(settings), upload_limit_bytes: "" }).upload_limit_bytes).toBe(0);
  });

  it("reads a time with or without seconds", () => {
    expect(hourMinute("08:15")).toBe("08:15");
    expect(hourMinute("08:15:30")).toBe("08:15");
  });
});
