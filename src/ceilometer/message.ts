// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * A sample as the compute agent publishes it: the dict of `meter_message_from_counter`
 * (publisher/utils.py), in its key order, with the Python int/float distinction of the volume, and
 * signed (`message_signature`, see signature.ts).
 */
import { nowMicros, pyIsoformat } from './ids.ts';
import { type PyDict, PyFloat } from './python-format.ts';
import { computeSignature } from './signature.ts';
import type { Sample } from './types.ts';

/** Static inputs of every sample message. */
export interface SampleContext {
  /** `[DEFAULT] sample_source`. */
  readonly source: string;
  /** The telemetry secret ('' = unsigned). */
  readonly secret: string;
  /** Generates the time-based `message_id`. */
  readonly messageId: () => string;
}

/** Builds one signed sample dict in meter_message_from_counter's key order. */
export function sampleMessage(ctx: SampleContext, sample: Sample, timestamp: string): PyDict {
  const message: PyDict = {
    source: ctx.source,
    counter_name: sample.name,
    counter_type: sample.type,
    counter_unit: sample.unit,
    counter_volume: sample.float ? new PyFloat(sample.volume) : (sample.exactVolume ?? sample.volume),
    user_id: sample.userId,
    project_id: sample.projectId,
    resource_id: sample.resourceId,
    timestamp,
    resource_metadata: sample.metadata,
    message_id: ctx.messageId(),
    monotonic_time: new PyFloat(sample.monotonicTime),
  };
  message.message_signature = computeSignature(message, ctx.secret);
  return message;
}

/**
 * The messages of one meter's samples of a cycle. One timestamp for all of them, as
 * `PollingTask.poll_and_notify` stamps all samples of a pollster with one `utcnow()`.
 */
export function sampleMessages(
  ctx: SampleContext,
  samples: readonly Sample[],
  timestamp: string = pyIsoformat(nowMicros()),
): PyDict[] {
  return samples.map((s) => sampleMessage(ctx, s, timestamp));
}
