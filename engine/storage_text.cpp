#include "engine/storage_text.h"

namespace outpost {

namespace {

template <typename Item, typename Parse>
std::vector<Item> split(std::string_view text, char separator, Parse parse) {
  std::vector<Item> out;
  while (!text.empty()) {
    size_t at = text.find(separator);
    out.push_back(parse(text.substr(0, at)));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

}  // namespace

std::string join_revisions(const std::vector<Revision>& revisions) {
  std::string out;
  for (const Revision& r : revisions) {
    if (!out.empty()) out += ' ';
    out += r.str();
  }
  return out;
}

std::vector<Revision> split_revisions(std::string_view text) {
  return split<Revision>(text, ' ', [](std::string_view part) { return Revision::parse(part); });
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

std::vector<std::string> split_names(std::string_view text) {
  return split<std::string>(text, ',', [](std::string_view part) { return std::string(part); });
}

}  // namespace outpost
