#include "reconciler/workload.h"

#include <doctest/doctest.h>

#include "engine/backends.h"

namespace outpost::test {

namespace {

constexpr int kIds = 40;  // ids per table: small, so peers collide often

Table notes_table() {
  return Table{"notes", {col("text", ValueType::string), col("stars", ValueType::int_)}};
}

}  // namespace

void Workload::create_tables(Engine& first, Engine& second) {
  create_table(first, items_table());
  create_table(second, notes_table());
}

void Workload::remember(const WriteResult& result) {
  INFO("write of ", result.table, "/", result.id);
  REQUIRE(result.ok());
  committed_[result.table + "\n" + result.id].insert(result.revision.str());
}

std::string Workload::random_edit(Engine& engine) {
  std::vector<Table> tables = engine.list_tables();
  // Blobs are edited only through put_blob, by the peer that created them.
  std::erase_if(tables, [](const Table& t) { return t.name == "blobs"; });
  if (tables.empty()) return "";
  const Table table = tables[pick(tables.size())];

  // Now and then a peer extends a table: replication must merge definitions.
  if (chance(0.004) && table.find_column("tag") == nullptr) {
    Table grown = table;
    grown.columns.push_back(col("tag", ValueType::string));
    engine.put_table(grown);
    ++counts_["add column"];
    return "add column";
  }

  const std::string id = "k" + std::to_string(pick(kIds));
  const std::string text = "v" + std::to_string(++counter_);
  Attributes attrs;
  if (table.name == "items") {
    attrs = item(text, static_cast<int64_t>(pick(100)));
  } else {
    attrs = Attributes{{"text", str(text)}};
    if (chance(0.5)) attrs.emplace("stars", num(static_cast<int64_t>(pick(5))));
  }
  if (table.find_column("tag") != nullptr && chance(0.3)) attrs.emplace("tag", str("t" + text));

  GetOptions options;
  options.conflicts = true;
  std::optional<Record> record = engine.get(table.name, id, options);
  std::string kind;
  if (!record || record->deleted) {
    remember(put_record(engine, table.name, id, Revision(), attrs));
    kind = record ? "recreate" : "create";
  } else {
    const std::vector<Revision> conflicts = record->conflicts.value_or(std::vector<Revision>{});
    const double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
    const Revision& some_conflict =
        conflicts.empty() ? record->revision : conflicts[pick(conflicts.size())];
    if (!conflicts.empty() && roll < 0.25) {
      remember(resolve_record(engine, table.name, id,
                              chance(0.5) ? record->revision : some_conflict, attrs));
      kind = "resolve";
    } else if (roll < 0.40) {
      remember(delete_record(engine, table.name, id, record->revision));
      kind = "delete";
    } else if (!conflicts.empty() && roll < 0.50) {
      if (chance(0.5)) {
        remember(delete_record(engine, table.name, id, some_conflict));
        kind = "delete conflict";
      } else {
        remember(put_record(engine, table.name, id, some_conflict, attrs));
        kind = "update conflict";
      }
    } else {
      remember(put_record(engine, table.name, id, record->revision, attrs));
      kind = "update";
    }
  }
  ++counts_[kind];
  return kind;
}

void Workload::edit_many(Engine& engine, const std::string& table, const std::string& id, int edits,
                         bool then_delete) {
  std::optional<Record> record = engine.get(table, id);
  Revision tip;
  if (!record || record->deleted) {
    WriteResult created = put_record(engine, table, id, Revision(), item("deep-0", 0));
    remember(created);
    tip = created.revision;
  } else {
    tip = record->revision;
  }
  std::vector<Edit> batch;
  batch.reserve(static_cast<size_t>(edits));
  for (int i = 1; i <= edits; ++i) {
    Edit e;
    e.table = table;
    e.id = id;
    e.parent = tip;
    const bool last_delete = then_delete && i == edits;
    e.kind = last_delete ? Edit::Kind::remove : Edit::Kind::put;
    if (!last_delete) e.attributes = item("deep-" + std::to_string(++counter_), i);
    tip = compute_revision(table, id, tip, last_delete, e.attributes);
    batch.push_back(std::move(e));
  }
  for (const WriteResult& r : engine.write(batch)) remember(r);
  ++counts_["edit many"];
}

void Workload::add_column_and_use(Engine& engine, const std::string& column) {
  std::optional<Table> table = engine.get_table("items");
  if (!table) table = items_table();  // not replicated here yet
  if (table->find_column(column) == nullptr) {
    table->columns.push_back(col(column, ValueType::string));
    engine.put_table(*table);
  }
  Attributes attrs = item("with " + column);
  attrs.emplace(column, str("set"));
  const std::string id = "col-" + column;
  std::optional<Record> record = engine.get("items", id);
  remember(put_record(engine, "items", id,
                      record && !record->deleted ? record->revision : Revision(), attrs));
  ++counts_["column added mid-run"];
}

void Workload::put_blob(Engine& engine, const std::string& id, size_t bytes) {
  GetOptions options;
  options.conflicts = true;
  std::optional<Record> record = engine.get("blobs", id, options);
  const Attributes attrs{
      {"data", Value::from_bytes(std::string(bytes, static_cast<char>('a' + pick(26))))}};
  if (record && !record->deleted && record->conflicts && !record->conflicts->empty()) {
    remember(resolve_record(engine, "blobs", id, record->revision, attrs));
  } else {
    remember(put_record(engine, "blobs", id,
                        record && !record->deleted ? record->revision : Revision(), attrs));
  }
  ++counts_["blob"];
}

void Workload::require_nothing_missing(Engine& engine) const {
  std::vector<RevsDiffQuery> queries;
  for (const auto& [key, revs] : committed_) {
    const size_t nl = key.find('\n');
    RevsDiffQuery q{key.substr(0, nl), key.substr(nl + 1), {}};
    for (const auto& r : revs) q.revisions.push_back(Revision::parse(r));
    queries.push_back(std::move(q));
  }
  for (const RevsDiffResult& d : engine.revs_diff(queries)) {
    INFO("record ", d.table, "/", d.id, " lacks ", strs(d.missing).size(), " revision(s), e.g. ",
         d.missing.empty() ? std::string() : d.missing[0].str());
    CHECK(d.missing.empty());
  }
}

}  // namespace outpost::test
