import type { History } from '@temporalio/common/lib/proto-utils.js';
import protoRoot from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import { createRequire } from 'node:module';

/**
 * A workflow history to and from the JSON Temporal's tools write (`temporal workflow show --output json`): the
 * conversion of @temporalio/common's `historyToJSON` / `historyFromJSON`, made with the protobufjs copy that
 * @temporalio/proto's types belong to.
 *
 * Why not those two functions: with this lockfile npm installs two copies of protobufjs 8 (one under
 * @temporalio/common, one under @temporalio/proto; the top level holds protobufjs 7 for another package), and
 * common's `protojson` refuses proto's reflected type (`TypeError: type must be a Type`, an `instanceof` across
 * copies) — so does `Worker.runReplayHistory` given JSON. Parsed `History` objects replay fine.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
const protoRequire = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const protojson = protoRequire('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(protoRoot as unknown as Record<string, unknown>) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, protoRoot.temporal.api.history.v1.History.fromObject(history));
}

export function historyFromJson(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected {"events": [...]}');
  }
  // Unknown fields are tolerated, as the SDK does: a history written by a newer server or CLI still loads.
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
