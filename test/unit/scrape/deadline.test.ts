// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrapeDeadlineMs } from '../../../src/scrape/deadline.ts';
import { parseDuration } from '../../../src/config/duration.ts';

test('the deadline is the Prometheus timeout minus the offset, capped by the configuration', () => {
  assert.equal(scrapeDeadlineMs('10', 500, 10_000), 9500);
  assert.equal(scrapeDeadlineMs('3.5', 500, 10_000), 3000);
  assert.equal(scrapeDeadlineMs('60', 500, 10_000), 10_000, 'capped');
  assert.equal(scrapeDeadlineMs(undefined, 500, 10_000), 10_000, 'no header: the configured maximum');
  assert.equal(scrapeDeadlineMs('nonsense', 500, 10_000), 10_000);
  assert.equal(scrapeDeadlineMs('-3', 500, 10_000), 10_000);
  assert.equal(scrapeDeadlineMs(undefined, 500, 50), 100, 'never below 100 ms');
});

test('issue 15 item 7: a client-chosen deadline has a floor of 1 s (or the configured maximum)', () => {
  assert.equal(scrapeDeadlineMs('0.2', 500, 10_000), 1000);
  assert.equal(scrapeDeadlineMs('0.1', 0, 10_000), 1000);
  assert.equal(scrapeDeadlineMs('1.2', 100, 10_000), 1100);
  assert.equal(scrapeDeadlineMs('0.1', 0, 600), 600, 'the configured maximum still caps it');
});

test('durations parse like Prometheus durations and reject anything else', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2h'), 7_200_000);
  for (const bad of ['', '10', 's', '10 s', '10sec', '-1s', '1s ']) {
    assert.throws(() => parseDuration(bad), /invalid duration/, bad);
  }
});
