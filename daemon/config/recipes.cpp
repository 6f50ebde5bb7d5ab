// [[recipes]]: what a batch follows in process mode (see recipe.hpp and shared/PRODUCT.md). Like the rest of the
// configuration, every problem is reported with its position, all at once: a recipe is checked in full even when an
// earlier key of it is wrong.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "config/config.hpp"
#include "api/table_reader.hpp"

namespace tally {

namespace {

bool valid_name(const std::string& s) {
  static const std::regex re("[a-z0-9_-]+");
  return std::regex_match(s, re);
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// "recipes[2] (lavender-soap)", or "recipes[2]" when the table has no usable `key` (a non-empty string) to name it.
std::string label(const std::string& prefix, std::size_t index, const toml::table& table, const char* key) {
  std::string s = prefix + "[" + std::to_string(index + 1) + "]";
  if (const auto* node = table.get(key); node && node->is_string() && !node->value<std::string>()->empty())
    s += " (" + *node->value<std::string>() + ")";
  return s;
}

void missing(TableReader& k, const std::string& key) {
  k.consume(key);
  k.diagnostics().error(k.table().source(), k.where() + ": missing required key '" + key + "'");
}

enum class Bound { any, positive, non_negative };

// A number (an integer is accepted: `3200` is what a person writes). Absent: nullopt, reported as missing when
// `required`. Wrong type, not finite or out of `bound`: reported, nullopt.
std::optional<double> number(TableReader& k, const std::string& key, bool required, Bound bound) {
  k.consume(key);
  const toml::node* node = k.table().get(key);
  if (!node) {
    if (required) missing(k, key);
    return std::nullopt;
  }
  double value = 0;
  if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else {
    k.error(key, "expected a number");
    return std::nullopt;
  }
  if (!std::isfinite(value)) {
    k.error(key, "must be a finite number");
    return std::nullopt;
  }
  if (bound == Bound::positive && !(value > 0)) {
    k.error(key, "must be greater than 0 (is " + format_number(value) + ")");
    return std::nullopt;
  }
  if (bound == Bound::non_negative && value < 0) {
    k.error(key, "must not be negative (is " + format_number(value) + ")");
    return std::nullopt;
  }
  return value;
}

// A required [a-z0-9_-]+ name, unique among `seen` (name -> line of its first definition).
std::string unique_name(TableReader& k, const std::string& key, std::map<std::string, std::size_t>& seen,
                        const char* what) {
  std::string name = k.required_string(key);
  if (name.empty()) return name;
  if (!valid_name(name)) k.error(key, "must match [a-z0-9_-]+");
  const auto [it, inserted] = seen.emplace(name, k.table().get(key)->source().begin.line);
  if (!inserted)
    k.error(key, std::string("duplicate ") + what + " \"" + name + "\" (first defined at line " +
                     std::to_string(it->second) + ")");
  return name;
}

// The keys that belong to one kind of step or another; each kind uses some and refuses the rest.
const std::vector<std::string> kind_keys = {"device", "target", "tolerance", "min", "max", "hold_s", "alarm_after_s"};

std::vector<std::string> keys_of(StepKind kind) {
  switch (kind) {
    case StepKind::weigh: return {"device", "target", "tolerance"};
    case StepKind::hold: return {"device", "min", "max", "hold_s", "alarm_after_s"};
    case StepKind::manual: return {};
  }
  return {};
}

class StepReader {
 public:
  explicit StepReader(const std::vector<DeviceConfig>& devices) {
    std::set<std::string> names;
    for (const auto& d : devices)
      if (!d.name.empty()) names.insert(d.name);
    for (const auto& n : names) {
      known_.insert(n);
      list_ += (list_.empty() ? "" : ", ") + n;
    }
  }

  RecipeStep read(TableReader& k, std::map<std::string, std::size_t>& seen) {
    RecipeStep step;
    step.name = unique_name(k, "name", seen, "step name");
    const std::optional<StepKind> kind = read_kind(k);
    if (kind) {
      step.kind = *kind;
      refuse_other_keys(k, *kind);
    }
    // With an unknown kind nothing can be required or refused, but every key present is still checked.
    const bool sure = kind.has_value();
    const auto uses = [&](StepKind which) { return !sure || *kind == which; };
    const auto needs = [&](StepKind which) { return sure && *kind == which; };

    if (uses(StepKind::weigh) || uses(StepKind::hold)) {
      const bool required = needs(StepKind::weigh) || needs(StepKind::hold);
      step.device = device(k, required);
    }
    if (uses(StepKind::weigh)) {
      step.target = number(k, "target", needs(StepKind::weigh), Bound::positive).value_or(0);
      step.tolerance = number(k, "tolerance", needs(StepKind::weigh), Bound::non_negative).value_or(0);
    }
    if (uses(StepKind::hold)) {
      const auto min = number(k, "min", needs(StepKind::hold), Bound::any);
      const auto max = number(k, "max", needs(StepKind::hold), Bound::any);
      if (min && max && !(*min < *max))
        k.error("max", "must be greater than min (" + format_number(*min) + ")");
      step.min = min.value_or(0);
      step.max = max.value_or(0);
      step.hold_s = number(k, "hold_s", false, Bound::non_negative).value_or(0);
      step.alarm_after_s = number(k, "alarm_after_s", false, Bound::non_negative).value_or(10);
    }
    step.max_s = number(k, "max_s", false, Bound::positive);
    return step;
  }

 private:
  static std::optional<StepKind> read_kind(TableReader& k) {
    if (!k.has("kind")) {
      missing(k, "kind");
      return std::nullopt;
    }
    const std::string kind = k.required_string("kind");  // reports a wrong type or an empty string
    if (kind.empty()) return std::nullopt;
    for (StepKind each : {StepKind::weigh, StepKind::hold, StepKind::manual})
      if (kind == to_string(each)) return each;
    k.error("kind", "\"" + kind + "\" is not one of \"weigh\", \"hold\", \"manual\"");
    return std::nullopt;
  }

  static void refuse_other_keys(TableReader& k, StepKind kind) {
    const auto used = keys_of(kind);
    for (const auto& key : kind_keys) {
      if (!k.has(key) || std::find(used.begin(), used.end(), key) != used.end()) continue;
      k.consume(key);
      k.error(key, std::string("not used by a ") + to_string(kind) + " step");
    }
  }

  std::string device(TableReader& k, bool required) {
    if (!k.has("device")) {
      if (required) missing(k, "device");
      k.consume("device");
      return {};
    }
    std::string name = k.required_string("device");
    if (!name.empty() && !known_.count(name))
      k.error("device", "unknown device \"" + name + "\" (" +
                            (list_.empty() ? std::string("no [[devices]] are configured") : "devices: " + list_) +
                            ")");
    return name;
  }

  std::set<std::string> known_;
  std::string list_;  // the known devices, sorted, for messages
};

}  // namespace

// A station's recipes are a handful, of a few to a few dozen steps each. The bounds keep a mistake (a generated
// file, a paste gone wrong) from becoming a context, a batch record and a bench screen of thousands of steps.
constexpr std::size_t kMaxRecipes = 200;
constexpr std::size_t kMaxSteps = 100;

std::vector<Recipe> read_recipes(const toml::table& root, const std::vector<DeviceConfig>& devices,
                                 Diagnostics& diag) {
  std::vector<Recipe> recipes;
  const toml::node* node = root.get("recipes");
  if (!node) return recipes;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    diag.error(node->source(), "recipes must be an array of tables: [[recipes]]");
    return recipes;
  }
  if (array->size() > kMaxRecipes) {
    diag.error(node->source(), "recipes: " + std::to_string(array->size()) + " recipes; at most " +
                                   std::to_string(kMaxRecipes) + " are allowed");
    return recipes;
  }
  StepReader step_reader(devices);
  std::map<std::string, std::size_t> ids;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    TableReader k(table, label("recipes", i, table, "id"), diag);
    Recipe recipe;
    recipe.id = unique_name(k, "id", ids, "recipe id");
    recipe.name = k.string("name", recipe.id);
    if (k.has("name") && recipe.name.empty() && table.get("name")->is_string()) k.error("name", "must not be empty");

    k.consume("steps");
    const toml::node* steps_node = table.get("steps");
    const toml::array* steps = steps_node ? steps_node->as_array() : nullptr;
    if (!steps_node) {
      missing(k, "steps");
    } else if (steps && steps->empty()) {
      k.error("steps", "a recipe needs at least one step");
    } else if (!steps || !steps->is_array_of_tables()) {
      k.error("steps", "expected an array of tables: [[recipes.steps]]");
    } else if (steps->size() > kMaxSteps) {
      k.error("steps", std::to_string(steps->size()) + " steps; at most " + std::to_string(kMaxSteps) + " are allowed");
    } else {
      std::map<std::string, std::size_t> names;
      for (std::size_t j = 0; j < steps->size(); ++j) {
        const toml::table& step_table = *steps->get(j)->as_table();
        TableReader s(step_table, k.where() + " " + label("steps", j, step_table, "name"), diag);
        recipe.steps.push_back(step_reader.read(s, names));
        s.finish();
      }
    }
    k.finish();
    recipes.push_back(std::move(recipe));
  }
  return recipes;
}

}  // namespace tally
