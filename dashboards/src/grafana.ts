// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * A small typed generator for Grafana dashboards (JSON model, schemaVersion 41, accepted by file
 * provisioning and import in Grafana 10 to 13). Every object it builds is typed with Grafana's own
 * `@grafana/schema` (the dashboard model and each panel plugin's options), so `tsc` rejects a
 * misspelt or mistyped field; panel positions are computed from rows of sized panels.
 */
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  DashboardCursorSync,
  FieldColorModeId,
  GraphDrawStyle,
  GraphGradientMode,
  LineInterpolation,
  MappingType,
  PercentChangeColorMode,
  SortOrder,
  StackingMode,
  TableCellDisplayMode,
  TableCellHeight,
  ThresholdsMode,
  TooltipDisplayMode,
  VariableRefresh,
  VariableSort,
  VisibilityMode,
  VizOrientation,
  type Dashboard,
  type DashboardLink,
  type DataSourceRef,
  type DataTransformerConfig,
  type FieldConfigSource,
  type Panel,
  type RowPanel,
  type TableFieldOptions,
  type TableOptions,
  type ThresholdsConfig,
  type ValueMapping,
  type VariableModel,
} from '@grafana/schema';
import type { DataLink } from '@grafana/schema/apis/dashboard.grafana.app/v2';
import type {
  FieldConfig as StateTimelineFieldConfig,
  Options as StateTimelineOptions,
} from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type {
  FieldConfig as TimeSeriesFieldConfig,
  Options as TimeSeriesOptions,
} from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** The dashboards' data source: whatever Prometheus the `datasource` variable selects. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Dashboard JSON schema version written (Grafana 12/13 migrate older ones on load). */
export const SCHEMA_VERSION = 41;

/** Tag shared by the dashboards of this project; the dashboard links list them by it. */
export const TAG = 'libvirt-exporter';

/** One PromQL query of a panel. */
export interface Query {
  readonly expr: string;
  /** Legend template, e.g. `{{domain}}`. */
  readonly legend?: string;
  /** Instant query (tables, stats of the current value); default: range query. */
  readonly instant?: boolean;
}

/**
 * A Prometheus target as Grafana's Prometheus data source stores it. A type alias rather than an
 * interface, so that it is assignable to the schema's `Record<string, unknown>` targets.
 */
export type PrometheusTarget = {
  datasource: DataSourceRef;
  refId: string;
  expr: string;
  legendFormat?: string;
  range: boolean;
  instant: boolean;
  format: 'time_series' | 'table';
  editorMode: 'code';
};

/** A panel before layout: its schema object and its size in grid units (24 columns). */
export interface PanelSpec {
  readonly panel: Panel;
  readonly w: number;
  readonly h: number;
}

/** A row of panels. */
export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** Options every panel kind shares. */
interface Common {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly Query[];
  readonly unit?: string;
  readonly w?: number;
  readonly h?: number;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
  readonly thresholds?: ThresholdsConfig;
  readonly mappings?: ValueMapping[];
}

type LegendMode = NonNullable<TimeSeriesOptions['legend']['displayMode']>;

/**
 * The legend display mode. `@grafana/schema` exports two enums of this name (the panel options use the
 * one its index shadows), so the value is given by its JSON string.
 */
function legendMode(mode: 'list' | 'table'): LegendMode {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- that enum is not importable by name
  return mode as LegendMode;
}

function targets(queries: readonly Query[], format: 'time_series' | 'table'): PrometheusTarget[] {
  return queries.map((q, i) => ({
    datasource: DATASOURCE,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    ...(q.legend !== undefined ? { legendFormat: q.legend } : {}),
    range: q.instant !== true,
    instant: q.instant === true,
    format,
    editorMode: 'code',
  }));
}

/** Thresholds from a base colour and [value, colour] steps. */
export function thresholds(base: string, ...steps: [number, string][]): ThresholdsConfig {
  return {
    mode: ThresholdsMode.Absolute,
    steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))],
  };
}

/** Value → text (and colour) mappings, e.g. for states. */
export function valueMappings(entries: Record<string, { text: string; color?: string }>): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(
        Object.entries(entries).map(([value, r], index) => [
          value,
          { text: r.text, index, ...(r.color !== undefined ? { color: r.color } : {}) },
        ]),
      ),
    },
  ];
}

function defaults(o: Common, custom: Record<string, unknown>): FieldConfigSource['defaults'] {
  return {
    custom,
    ...(o.unit !== undefined ? { unit: o.unit } : {}),
    ...(o.decimals !== undefined ? { decimals: o.decimals } : {}),
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
    ...(o.mappings !== undefined ? { mappings: o.mappings } : {}),
    thresholds: o.thresholds ?? thresholds('green'),
    color: {
      mode: o.thresholds || o.mappings ? FieldColorModeId.Thresholds : FieldColorModeId.PaletteClassic,
    },
  };
}

/** Options of {@link timeseries}. */
export interface TimeSeriesSpec extends Common {
  /** Stack the series (areas). */
  readonly stack?: boolean;
  /** Series whose display name matches this regex are drawn below the axis (e.g. writes, transmit). */
  readonly negativeY?: string;
  /** Legend as a table with last/max values (for panels with many series). */
  readonly legendTable?: boolean;
}

/** A time series panel. */
export function timeseries(o: TimeSeriesSpec): PanelSpec {
  const custom: TimeSeriesFieldConfig = {
    drawStyle: GraphDrawStyle.Line,
    lineInterpolation: LineInterpolation.Linear,
    lineWidth: 1,
    fillOpacity: o.stack ? 30 : 10,
    gradientMode: GraphGradientMode.None,
    showPoints: VisibilityMode.Never,
    spanNulls: false,
    stacking: { mode: o.stack ? StackingMode.Normal : StackingMode.None, group: 'A' },
  };
  const options: TimeSeriesOptions = {
    legend: {
      showLegend: true,
      placement: 'bottom',
      displayMode: legendMode(o.legendTable ? 'table' : 'list'),
      calcs: o.legendTable ? ['lastNotNull', 'max'] : [],
      ...(o.legendTable ? { sortBy: 'Last *', sortDesc: true } : {}),
    },
    tooltip: { mode: TooltipDisplayMode.Multi, sort: SortOrder.Descending },
  };
  const panel: Panel = {
    type: 'timeseries',
    title: o.title,
    description: o.description,
    datasource: DATASOURCE,
    targets: targets(o.queries, 'time_series'),
    fieldConfig: {
      defaults: defaults(o, { ...custom }),
      overrides:
        o.negativeY === undefined
          ? []
          : [
              {
                matcher: { id: 'byRegexp', options: o.negativeY },
                properties: [{ id: 'custom.transform', value: 'negative-Y' }],
              },
            ],
    },
    options: { ...options },
  };
  return { panel, w: o.w ?? 12, h: o.h ?? 8 };
}

/** Options of {@link stat}. */
export interface StatSpec extends Common {
  /** What the big number shows: the value (default), or the series name (e.g. a version label). */
  readonly text?: 'value' | 'name' | 'value_and_name';
  readonly colorMode?: 'value' | 'background' | 'none';
  readonly sparkline?: boolean;
}

/** A single-value (stat) panel showing the last value of each series. */
export function stat(o: StatSpec): PanelSpec {
  const options: StatOptions = {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    orientation: VizOrientation.Auto,
    textMode:
      o.text === 'name'
        ? BigValueTextMode.Name
        : o.text === 'value_and_name'
          ? BigValueTextMode.ValueAndName
          : BigValueTextMode.Auto,
    colorMode:
      o.colorMode === 'background'
        ? BigValueColorMode.Background
        : o.colorMode === 'none'
          ? BigValueColorMode.None
          : BigValueColorMode.Value,
    graphMode: o.sparkline ? BigValueGraphMode.Area : BigValueGraphMode.None,
    justifyMode: BigValueJustifyMode.Auto,
    showPercentChange: false,
    percentChangeColorMode: PercentChangeColorMode.Standard,
    wideLayout: true,
  };
  const panel: Panel = {
    type: 'stat',
    title: o.title,
    description: o.description,
    datasource: DATASOURCE,
    targets: targets(o.queries, 'time_series'),
    fieldConfig: { defaults: defaults(o, {}), overrides: [] },
    options: { ...options },
  };
  return { panel, w: o.w ?? 4, h: o.h ?? 4 };
}

/** Options of {@link stateTimeline}. */
export type StateTimelineSpec = Common;

/** A state timeline (e.g. collector success over time). */
export function stateTimeline(o: StateTimelineSpec): PanelSpec {
  const custom: StateTimelineFieldConfig = { fillOpacity: 70, lineWidth: 0 };
  const options: StateTimelineOptions = {
    rowHeight: 0.9,
    showValue: VisibilityMode.Never,
    mergeValues: true,
    alignValue: 'left',
    legend: { showLegend: false, placement: 'bottom', displayMode: legendMode('list'), calcs: [] },
    tooltip: { mode: TooltipDisplayMode.Single, sort: SortOrder.None },
  };
  const panel: Panel = {
    type: 'state-timeline',
    title: o.title,
    description: o.description,
    datasource: DATASOURCE,
    targets: targets(o.queries, 'time_series'),
    fieldConfig: { defaults: defaults(o, { ...custom }), overrides: [] },
    options: { ...options },
  };
  return { panel, w: o.w ?? 12, h: o.h ?? 8 };
}

/** Options of {@link table}. */
export interface TableSpec extends Common {
  /** Label columns to show, in order, with their headers; every other column is hidden. */
  readonly columns: Readonly<Record<string, string>>;
  /** Join the queries' rows on this label (one row per value), for multi-query tables. */
  readonly joinOn?: string;
  /**
   * Data links of cells, by column (a key of `columns`): a click on a cell of that column opens them.
   * Their URLs read the row's cells as `${__data.fields["<header>"]}`.
   */
  readonly links?: Readonly<Record<string, readonly DataLink[]>>;
}

/** A table of instant query results, one row per series, label columns chosen by `columns`. */
export function table(o: TableSpec): PanelSpec {
  const custom: TableFieldOptions = {
    align: 'auto',
    cellOptions: { type: TableCellDisplayMode.Auto },
    inspect: false,
  };
  const options: TableOptions = { showHeader: true, frameIndex: 0, cellHeight: TableCellHeight.Sm };
  const names = Object.keys(o.columns);
  const transformations: DataTransformerConfig[] = [
    ...(o.joinOn !== undefined
      ? [{ id: 'joinByField', options: { byField: o.joinOn, mode: 'outer' } }]
      : [{ id: 'merge', options: {} }]),
    {
      id: 'organize',
      options: {
        // Keep only the named columns, in the given order, under the given headers.
        excludeByName: {},
        includeByName: Object.fromEntries(names.map((n) => [n, true])),
        indexByName: Object.fromEntries(names.map((n, i) => [n, i])),
        renameByName: o.columns,
      },
    },
  ];
  const panel: Panel = {
    type: 'table',
    title: o.title,
    description: o.description,
    datasource: DATASOURCE,
    targets: targets(
      o.queries.map((q) => ({ ...q, instant: true })),
      'table',
    ),
    fieldConfig: {
      defaults: defaults(o, { ...custom }),
      // After the organize transformation, a column is matched by its header (its display name).
      overrides: Object.entries(o.links ?? {}).map(([column, links]) => ({
        matcher: { id: 'byName', options: o.columns[column] ?? column },
        properties: [{ id: 'links', value: links.map((l) => ({ ...l })) }],
      })),
    },
    options: { ...options },
    transformations,
  };
  return { panel, w: o.w ?? 24, h: o.h ?? 8 };
}

/** A row of panels. */
export function row(title: string, panels: readonly PanelSpec[]): RowSpec {
  return { title, panels };
}

/** The `datasource` variable: any Prometheus data source (no hard-coded uid). */
export function datasourceVariable(): VariableModel {
  return {
    type: 'datasource',
    name: 'datasource',
    label: 'Data source',
    query: 'prometheus',
    regex: '',
    refresh: VariableRefresh.onDashboardLoad,
    includeAll: false,
    multi: false,
  };
}

/** Options of {@link queryVariable}. */
export interface QueryVariableSpec {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  /** A Prometheus variable query such as `label_values(libvirt_up, job)`. */
  readonly query: string;
  /** Multi-select with an "All" option whose value is `.+` (so use `=~` in queries). */
  readonly multi?: boolean;
  /** Single-select with an "All" option (value `.+`), selected by default. */
  readonly includeAll?: boolean;
  /**
   * Value of "All" (default `.+`). `.*` also matches series without the label, for a label that
   * only some set-ups have (e.g. `cluster`).
   */
  readonly allValue?: string;
}

/** A query variable over label values, refreshed when the time range changes. */
export function queryVariable(o: QueryVariableSpec): VariableModel {
  const all = o.multi === true || o.includeAll === true;
  return {
    type: 'query',
    name: o.name,
    label: o.label,
    description: o.description,
    datasource: DATASOURCE,
    query: o.query,
    regex: '',
    refresh: VariableRefresh.onTimeRangeChanged,
    sort: VariableSort.alphabeticalAsc,
    multi: o.multi === true,
    includeAll: all,
    ...(all
      ? {
          allValue: o.allValue ?? '.+',
          current:
            o.multi === true
              ? { selected: true, text: ['All'], value: ['$__all'] }
              : { selected: true, text: 'All', value: '$__all' },
        }
      : {}),
  };
}

/** Options of {@link dashboard}. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly variables: VariableModel[];
  readonly rows: readonly RowSpec[];
}

/** Lays the rows out on the 24-column grid and returns the dashboard model. */
export function dashboard(o: DashboardSpec): Dashboard {
  const panels: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const r of o.rows) {
    panels.push({
      type: 'row',
      id: id++,
      title: r.title,
      collapsed: false,
      panels: [],
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of r.panels) {
      if (x + p.w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push({ ...p.panel, id: id++, gridPos: { h: p.h, w: p.w, x, y } });
      x += p.w;
      rowHeight = Math.max(rowHeight, p.h);
    }
    y += rowHeight;
  }
  const links: DashboardLink[] = [
    {
      title: 'libvirt dashboards',
      type: 'dashboards',
      tags: [TAG],
      asDropdown: true,
      // The chosen cluster, job and node (and time range) go along to the other dashboards.
      includeVars: true,
      keepTime: true,
      targetBlank: false,
      icon: 'external link',
      tooltip: '',
    },
  ];
  return {
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: [TAG, 'libvirt', 'openstack'],
    editable: false,
    graphTooltip: DashboardCursorSync.Crosshair,
    schemaVersion: SCHEMA_VERSION,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links,
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: { list: o.variables },
    panels,
  };
}
