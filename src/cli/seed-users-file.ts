import { parse } from 'csv-parse/sync';
import { CliError } from './cli-error';

export type SeedFileFormat = 'json' | 'csv';

/** One record of an import file, before any rule is applied. */
export interface SeedRecord {
  /** Where it is, for messages: `line 3` (CSV, the header is line 1) or `row 3` (JSON, from 1). */
  where: string;
  /** Its fields by lower-cased name; undefined when the record is not an object (JSON). */
  fields: Record<string, unknown> | undefined;
  /** Set when the record cannot be read as fields (a CSV line with the wrong field count). */
  problem?: string;
}

/** The format a file name says, or undefined when its extension names none. */
export function formatOfFileName(file: string): SeedFileFormat | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

/**
 * The records of an import file: a JSON array of objects, or CSV (RFC 4180, a header row;
 * what `sqlite3 -csv -header` and psql's `\copy ... CSV HEADER` write). A file that cannot be
 * read at all is a CliError; a record that cannot is reported with its place.
 */
export function readSeedRecords(text: string, format: SeedFileFormat): SeedRecord[] {
  // Spreadsheet programs start UTF-8 files with a byte order mark.
  const content = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return format === 'json' ? jsonRecords(content) : csvRecords(content);
}

function jsonRecords(content: string): SeedRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new CliError(`Error: the file is not valid JSON (${(error as Error).message})`, 1);
  }
  if (!Array.isArray(parsed)) {
    throw new CliError('Error: the JSON file must hold an array of user objects', 1);
  }
  return parsed.map((item: unknown, index) => ({
    where: `row ${index + 1}`,
    fields:
      typeof item === 'object' && item !== null && !Array.isArray(item)
        ? Object.fromEntries(
            Object.entries(item).map(([name, value]) => [name.trim().toLowerCase(), value]),
          )
        : undefined,
  }));
}

function csvRecords(content: string): SeedRecord[] {
  const rows = parseCsv(content);
  const header = rows.shift();
  if (header === undefined) throw new CliError('Error: the CSV file is empty', 1);
  const names = header.fields.map((name) => name.trim().toLowerCase());
  return rows
    .filter((row) => !(row.fields.length === 1 && row.fields[0] === ''))
    .map((row) => {
      const where = `line ${row.line}`;
      if (row.fields.length !== names.length) {
        return {
          where,
          fields: undefined,
          problem: `has ${row.fields.length} fields, the header has ${names.length}`,
        };
      }
      return { where, fields: Object.fromEntries(names.map((name, i) => [name, row.fields[i]])) };
    });
}

/**
 * RFC 4180 by csv-parse: comma-separated fields, optionally in double quotes (where `""` is a
 * quote and commas and line breaks are data), records ended by CRLF or LF. Each record with the
 * line it starts on.
 */
export function parseCsv(content: string): { line: number; fields: string[] }[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(content, {
      relax_column_count: true,
      info: true,
      record_delimiter: ['\r\n', '\n'],
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const where = (error as { lines?: unknown }).lines;
    throw new CliError(
      `Error: the CSV file cannot be read${typeof where === 'number' ? ` at line ${where}` : ''} (${(error as Error).message})`,
      1,
    );
  }
  return records.map(({ record, info }) => ({
    // csv-parse counts lines to the record's end; a quoted line break is within the record.
    line: info.lines - record.reduce((breaks, field) => breaks + (field.split('\n').length - 1), 0),
    fields: record,
  }));
}
