// The refusals of one replication run (api/refusals.h): the list
// saved on the source by earlier runs, the documents this run could not
// write, and what the retry pass takes out to try again.
//
// The run saves the list (to_save) before every checkpoint, so that the
// checkpoint never covers a document that is neither written nor
// recorded; more than kMaxRefusals new ones in one run then stop the run
// there. After the retry pass (which only drops or updates entries) the
// list is saved whatever its size.
//
// Thread-safety: safe from several threads (a run's writes record
// refusals at once).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/refusals.h"

namespace outpost {

class RefusalBook {
 public:
  // Adds the list read from the source (earlier runs' refusals).
  void load(std::vector<Refusal> list);
  // Records a document this run could not write (replacing an entry for
  // the same revision).
  void add(Refusal refusal);
  // Takes out the entries this run has not tried yet whose table `ready`
  // accepts (the others stay listed), for the retry pass.
  std::vector<Refusal> take_untried(const std::function<bool(const std::string&)>& ready);

  // The list as JSON when it changed since the last save (nullopt: no need
  // to save), then counted as saved. With `enforce_cap`, throws
  // Error(too_large) when this run added more than kMaxRefusals new entries.
  std::optional<std::string> to_save(bool enforce_cap);
  // The save of what to_save() returned failed: the list still needs one.
  void save_failed();

  // Entries listed now.
  size_t size() const;

 private:
  static std::string key_of(const Refusal& r);

  mutable std::mutex mu_;
  std::map<std::string, Refusal> refused_;  // by key_of
  std::set<std::string> tried_;             // keys refused during this run
  std::set<std::string> loaded_;            // keys recorded by earlier runs
  bool dirty_ = false;
};

}  // namespace outpost
