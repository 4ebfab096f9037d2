// SPDX-License-Identifier: Apache-2.0
/**
 * Where an incoming frame (other than keepalive's) goes: the reply of a waiting call, a domain event,
 * or nowhere (dropped, with the reason counted as an anomaly).
 *
 * @packageDocumentation
 */
import { MessageType, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './constants.ts';
import type { ConnectionAnomalyKind } from './connection-types.ts';
import type { Frame } from './framing.ts';

/** The route of one frame. */
export type FrameRoute =
  | { readonly to: 'reply' }
  | { readonly to: 'event' }
  | { readonly to: 'drop'; readonly kind: ConnectionAnomalyKind; readonly message: string };

/** Routes a frame; `awaited(serial)` tells whether a call waits on that serial. */
export function routeFrame(frame: Frame, awaited: (serial: number) => boolean): FrameRoute {
  const isReply = frame.type === MessageType.REPLY || frame.type === MessageType.REPLY_WITH_FDS;
  const prog = `0x${frame.prog.toString(16)}`;
  if (isReply) {
    if (awaited(frame.serial) && frame.prog === REMOTE_PROGRAM) return { to: 'reply' };
    // Not ours (another program, a serial never sent, or a call already failed): never deliver by
    // guesswork, not even to a call of the same serial on another program.
    const message = `dropped a reply for serial ${frame.serial} (program ${prog}, procedure ${frame.proc}) that no call waits for`;
    return { to: 'drop', kind: 'unmatched-reply', message };
  }
  if (
    frame.prog === REMOTE_PROGRAM &&
    frame.vers === REMOTE_PROTOCOL_VERSION &&
    frame.type === MessageType.MESSAGE
  ) {
    return { to: 'event' };
  }
  // Another program (qemu, lxc) or version this client never calls, a server-side CALL, or a STREAM
  // frame (those only follow stream calls, which this client does not make).
  const message = `dropped a message of program ${prog} version ${frame.vers} type ${frame.type} procedure ${frame.proc}`;
  return { to: 'drop', kind: 'unexpected-frame', message };
}
