#include "medssl/io/csv.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "medssl/core/error.h"

namespace medssl::io {
namespace {

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

struct Record {
  std::vector<std::string> fields;
  int line = 0;
};

// A single pass over the text. `line` counts physical lines (LF, CRLF or a lone CR), including those inside quoted
// fields, so that every message points at the line an editor shows.
class CsvParser {
 public:
  CsvParser(const std::string& text, const std::string& source) : text_(text), source_(source) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 byte-order mark (Excel writes one)
  }

  std::vector<Record> records() {
    std::vector<Record> out;
    while (pos_ < text_.size()) {
      if (at_line_end()) {  // blank line
        consume_line_end();
        continue;
      }
      Record record;
      record.line = line_;
      while (true) {
        record.fields.push_back(field());
        if (pos_ >= text_.size()) break;
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        consume_line_end();
        break;
      }
      out.push_back(std::move(record));
    }
    return out;
  }

 private:
  bool at_line_end() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }

  void consume_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string field() {
    std::string value;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const int opening_line = line_;
      ++pos_;
      while (true) {
        if (pos_ >= text_.size())
          fail("{}:{}: quoted field is never closed (its opening quote is on this line)", source_, opening_line);
        char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            value += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n' || (c == '\r' && !(pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n'))) ++line_;
        value += c;
        ++pos_;
      }
      if (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end())
        fail("{}:{}: unexpected character '{}' after a closing quote (expected a comma or the end of the line)",
             source_, line_, text_[pos_]);
      return value;
    }
    while (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
      if (text_[pos_] == '"')
        fail("{}:{}: quote inside an unquoted field (quote the whole field and double the inner quotes)", source_,
             line_);
      value += text_[pos_++];
    }
    return value;
  }

  const std::string& text_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (trimmed(header[i]) == name) return static_cast<int>(i);
  return -1;
}

int CsvTable::require_column(const std::string& name) const {
  int index = column(name);
  if (index < 0) {
    std::string present;
    for (const auto& h : header) present += (present.empty() ? "'" : ", '") + h + "'";
    fail("{}:1: missing column '{}' (columns present: {})", source, name, present);
  }
  return index;
}

std::string CsvTable::where(size_t row) const {
  return source + ":" + std::to_string(row < row_lines.size() ? row_lines[row] : 0);
}

CsvTable parse_csv(const std::string& text, const std::string& source_name) {
  CsvTable table;
  table.source = source_name;
  std::vector<Record> records = CsvParser(text, source_name).records();
  check(!records.empty(), "{}: CSV file is empty (expected a header line)", source_name);
  table.header = std::move(records.front().fields);
  std::set<std::string> seen;
  for (const auto& name : table.header) {
    std::string key = trimmed(name);
    // Empty names are allowed (pandas writes one for its index column); repeated real names are ambiguous.
    if (!key.empty() && !seen.insert(key).second)
      fail("{}:{}: column '{}' appears twice in the header", source_name, records.front().line, key);
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].fields.size() != table.header.size())
      fail("{}:{}: row has {} field(s) but the header has {}", source_name, records[r].line,
           records[r].fields.size(), table.header.size());
    table.rows.push_back(std::move(records[r].fields));
    table.row_lines.push_back(records[r].line);
  }
  return table;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open CSV file '{}': {}", path, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("cannot read CSV file '{}'", path);
  return parse_csv(buffer.str(), path);
}

std::string csv_quote(const std::string& field) {
  // A leading UTF-8 byte-order mark is quoted too: at the start of a file the reader would take it for the file's
  // own BOM and drop it (found by fuzz_aptos_csv).
  bool needs_quotes = field.find_first_of(",\"\r\n") != std::string::npos ||
                      (!field.empty() && (field.front() == ' ' || field.back() == ' ')) ||
                      field.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (!needs_quotes) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
  // A record of one empty field would be a blank line, which readers skip: quote it so that it stays a record.
  if (fields.size() == 1 && fields[0].empty()) return "\"\"";
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_quote(fields[i]);
  }
  return out;
}

}  // namespace medssl::io
