// [[scan_rules]]: pattern, action, fields (shared/PRODUCT.md). Every problem is reported with its position, all at
// once. The pattern is checked before it is ever matched: RE2 syntax (scan::pattern_problem: RE2's own message,
// with a hint where ECMAScript habits such as backreferences or lookaround do not carry over), at most 1,024
// characters, groups nested at most 8 deep, and at least as many capture groups as `fields` names.
#include "config/config.hpp"
#include "production/production.hpp"
#include "api/table_reader.hpp"

namespace tally {

std::vector<scan::ScanRule> read_scan_rules(const toml::table& root, Diagnostics& diag) {
  std::vector<scan::ScanRule> rules;
  const toml::node* node = root.get("scan_rules");
  if (!node) return rules;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    diag.error(node->source(), "scan_rules must be an array of tables: [[scan_rules]]");
    return rules;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    TableReader k(table, "scan_rules[" + std::to_string(i + 1) + "]", diag);
    scan::ScanRule rule;
    bool ok = true;
    rule.pattern = k.required_string("pattern");
    if (!rule.pattern.empty()) {
      std::size_t column = 0;
      if (const std::string why = scan::pattern_problem(rule.pattern, column); !why.empty()) {
        k.error("pattern", why);
        ok = false;
      } else {
        rule.re = scan::compile_pattern(rule.pattern);
      }
    } else {
      ok = false;
    }
    rule.action = k.required_string("action");
    if (!rule.action.empty() && !Production::handles(rule.action)) {
      k.error("action", "\"" + rule.action +
                            "\" is not a production command (batch.start, step.next, batch.end, lot.record, "
                            "work_order.start, work_order.end, unit.add, unit.reject, operator.set)");
      ok = false;
    }
    k.consume("fields");
    if (const toml::node* f = table.get("fields")) {
      const toml::array* list = f->as_array();
      if (!list) {
        k.error("fields", "expected an array of strings");
        ok = false;
      } else {
        for (const auto& item : *list) {
          if (!item.is_string() || item.value<std::string>()->empty()) {
            diag.error(item.source(), k.where() + " fields: expected a non-empty string");
            ok = false;
            continue;
          }
          const std::string field = *item.value<std::string>();
          // A field the action does not take would be refused at every scan: say so once, here.
          if (const auto* command = Production::find_command(rule.action); command && !command->takes_argument(field)) {
            diag.error(item.source(), k.where() + " fields: \"" + rule.action + "\" takes no \"" + field + "\" (" +
                                          (command->takes.empty() ? std::string("it takes none")
                                                                  : "it takes: " + std::string(command->takes)) +
                                          ")");
            ok = false;
            continue;
          }
          rule.fields.push_back(field);
        }
      }
      if (ok && scan::capture_groups(rule.re) < rule.fields.size())
        k.error("fields", "names " + std::to_string(rule.fields.size()) + " fields but the pattern has only " +
                              std::to_string(scan::capture_groups(rule.re)) + " capture groups"),
            ok = false;
    }
    k.finish();
    if (ok) rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace tally
