// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer sample model: the meters the libvirt compute agent polls, what each is measured on,
 * and the samples they produce. Both outputs consume {@link Sample}s: the AMQP publisher turns them
 * into signed sample dicts (message.ts), the `ceilometer` collector into gauges.
 */
import type { Instance } from '../inspector/types.ts';
import type { CeilometerMeter, DiskSubject, DomainSubject, VnicSubject } from '../meters/table.ts';
import type { PyDict } from './python-format.ts';

/** What a meter is measured on: a running domain, one of its disks or vNICs, or any discovered instance. */
export type MeterScope = 'domain' | 'disk' | 'vnic' | 'instance';

/** A discovered instance, running or not (metadata-only meters). */
export interface InstanceSubject {
  readonly instance: Instance;
}

/** The subject of each scope. */
export interface MeterSubjectOf {
  domain: DomainSubject;
  disk: DiskSubject;
  vnic: VnicSubject;
  instance: InstanceSubject;
}

/** Per-cycle state a meter may read: the delta of each vNIC's byte counters since the previous poll. */
export interface CycleState {
  /** By tap name: bytes received/sent since the previous poll (Ceilometer inspect_vnics semantics). */
  readonly vnicDeltas: ReadonlyMap<string, { readonly rx: number; readonly tx: number }>;
}

/** A Ceilometer meter type. */
export type MeterType = CeilometerMeter['type'];

/** A meter of the compute agent: name, type and unit as the configured release writes them, and its reader. */
export interface ComputeMeter<S extends MeterScope = MeterScope> {
  readonly name: string;
  readonly type: MeterType;
  readonly unit: string;
  /** Python float volume (printed `45.0`), else int. */
  readonly float: boolean;
  readonly scope: S;
  /** The volume, or undefined when there is none this cycle (no sample, as Ceilometer's NoVolumeException). */
  volume(subject: MeterSubjectOf[S], state: CycleState): number | undefined;
  /** An integer meter reading libvirt uint64 counters: its exact value (see exact.ts). */
  exact?(subject: MeterSubjectOf[S]): bigint | undefined;
  /** The `stats.perf` event the meter reads: a cycle that polls it must ask libvirt for the perf group. */
  readonly perfEvent?: string;
  /** Where the value comes from, for readers (never read by code): the table row key, or `companion` with a reason. */
  readonly origin: string;
}

/**
 * One sample as the compute agent polls it, before any wire format: what a pollster yields
 * (ceilometer/sample.py `Sample`) without the source, timestamp and message id the publisher adds.
 */
export interface Sample {
  /** `counter_name`: the meter name as the release writes it. */
  readonly name: string;
  readonly type: MeterType;
  /** `counter_unit` ('' for unit-less meters). */
  readonly unit: string;
  /** The volume as a float64 number (what Prometheus serves). */
  readonly volume: number;
  /** A Python float on the wire (`45.0`), else a Python int. */
  readonly float: boolean;
  /** The exact integer, when libvirt's counter is beyond 2^53 and float64 may have rounded `volume`. */
  readonly exactVolume?: bigint;
  readonly userId: string;
  readonly projectId: string;
  /** The instance UUID, `<uuid>-<disk>` for a disk, the filter name or `<name>-<uuid>-<tap>` for a vNIC. */
  readonly resourceId: string;
  /** resource_metadata: the instance's, then the meter's own keys (cpu_number, disk_name, the NIC's). */
  readonly metadata: PyDict;
  /** `time.monotonic()` of the inspection (metadata-only meters: of the sample). */
  readonly monotonicTime: number;
}
