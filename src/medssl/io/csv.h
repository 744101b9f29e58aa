#pragma once
// A small RFC-4180 CSV reader (and field quoting for writers). Handles quoted fields with commas, doubled quotes and
// line breaks, LF or CRLF line ends, a UTF-8 byte-order mark and blank lines. Every problem is reported as
// medssl::Error with "file:line", and every row remembers the line it started on so that callers can do the same
// for problems in the values (e.g. "train.csv:17: diagnosis 'x' is not an integer").
#include <string>
#include <vector>

namespace medssl::io {

struct CsvTable {
  std::string source;                           ///< file path (or a name given to parse_csv) for messages
  std::vector<std::string> header;              ///< the first record
  std::vector<std::vector<std::string>> rows;   ///< the other records; each has header.size() fields
  std::vector<int> row_lines;                   ///< 1-based physical line on which each row starts

  /// Index of the column named `name` (header names compared with surrounding spaces removed), or -1.
  int column(const std::string& name) const;
  /// Index of the column named `name`; throws medssl::Error naming the file, the column and the columns present.
  int require_column(const std::string& name) const;
  /// "source:line" of row `row`, for error messages.
  std::string where(size_t row) const;
};

/// Parses CSV text. The first record is the header: it must be non-empty and its names unique. Every later record
/// must have as many fields as the header. Blank lines are skipped.
CsvTable parse_csv(const std::string& text, const std::string& source_name);

/// Reads and parses a CSV file; throws medssl::Error naming the file if it cannot be read.
CsvTable read_csv(const std::string& path);

/// Quotes a field if it needs it (comma, quote, CR or LF, or leading/trailing space), doubling inner quotes.
std::string csv_quote(const std::string& field);
/// Joins fields into one CSV record (quoted where needed), without a line end.
std::string csv_row(const std::vector<std::string>& fields);

}  // namespace medssl::io
