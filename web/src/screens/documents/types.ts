import type { components } from "@/api/schema";

type Schemas = components["schemas"];

export type DocumentRead = Schemas["DocumentRead"];
export type VersionRead = Schemas["DocumentVersionRead"];
export type FolderRead = Schemas["FolderRead"];
export type ReviewRead = Schemas["ReviewRead"];
export type RetentionPolicyRead = Schemas["RetentionPolicyRead"];
export type LegalHoldRead = Schemas["LegalHoldRead"];
export type DocumentSettingsRead = Schemas["DocumentSettingsRead"];
export type SearchHit = Schemas["DocumentSearchHit"];
