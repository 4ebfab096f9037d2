// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The oslo.messaging notification that carries samples from the polling agent to the notification
 * agent (ceilometer polling/manager.py `_send_notification`; oslo_messaging notify/notifier.py
 * `_notify`, _drivers/amqpdriver.py `_send`, _drivers/common.py `serialize_msg`), byte for byte.
 */
import { nowMicros, pyStrDatetime, uuid4, uuid4Hex } from './ids.ts';
import { type PyDict, pyJsonDumps } from './python-format.ts';

/** `publisher_id` of the compute agent's notifier. */
export const PUBLISHER_ID = 'ceilometer.polling';
/** The only event type the notification agent's sample endpoint accepts. */
export const EVENT_TYPE = 'telemetry.polling';

/**
 * AMQP basic properties of the real agent's messages (kombu through oslo's rabbit driver), as
 * captured: JSON in UTF-8, persistent, priority 0, empty headers; nothing else set.
 */
export const AMQP_PROPERTIES = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
} as const;

/** Options of {@link buildNotification}; the defaults are the real values, tests pin them. */
export interface NotificationIds {
  /** The oslo message_id (uuid4). */
  readonly messageId?: string;
  /** oslo's `_unique_id` (uuid4 hex). */
  readonly uniqueId?: string;
  /** When the notification is sent, in microseconds since the epoch. */
  readonly nowMicros?: bigint;
}

/** Builds the inner oslo message of a `telemetry.polling` notification for a batch of sample dicts. */
export function buildOsloMessage(samples: readonly PyDict[], ids: NotificationIds = {}): PyDict {
  return {
    message_id: ids.messageId ?? uuid4(),
    publisher_id: PUBLISHER_ID,
    event_type: EVENT_TYPE,
    priority: 'SAMPLE',
    payload: { samples: [...samples] },
    timestamp: pyStrDatetime(ids.nowMicros ?? nowMicros()),
    _unique_id: ids.uniqueId ?? uuid4Hex(),
  };
}

/**
 * The AMQP body: oslo's envelope 2.0, `{"oslo.version": "2.0", "oslo.message": "<json>"}`, both
 * levels serialised as Python's json.dumps writes them.
 */
export function buildNotificationBody(samples: readonly PyDict[], ids: NotificationIds = {}): string {
  const inner = pyJsonDumps(buildOsloMessage(samples, ids));
  return pyJsonDumps({ 'oslo.version': '2.0', 'oslo.message': inner });
}

/**
 * Splits one meter's samples of a cycle into notifications of at most `batchSize` samples
 * (`[polling] batch_size`); 0 means one sample per notification, as in the real agent.
 */
export function batchSamples<T>(samples: readonly T[], batchSize: number): T[][] {
  const size = batchSize > 0 ? batchSize : 1;
  const out: T[][] = [];
  for (let i = 0; i < samples.length; i += size) out.push(samples.slice(i, i + size));
  return out;
}
