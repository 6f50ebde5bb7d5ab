// [[recipes]]: every field read, and every problem reported with its position, all at once.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.hpp"
#include "config/config_problems.hpp"


using namespace tally;
using tally::test::has;
using tally::test::problems;

namespace {

// Lines 1-8 of every configuration below: recipes start at line 9.
const std::string station = R"([station]
id = "s"
[[devices]]
name = "kettle"
driver = "simulated"
[[devices]]
name = "bench-scale"
driver = "simulated"
)";

}  // namespace

TEST_CASE("recipes: a recipe is read with every field, and defaults apply") {
  const Config c = parse_config(station + R"([[recipes]]
id = "lavender-soap"
name = "Lavender soap, 40 bars"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  device = "bench-scale"
  target = 3200
  tolerance = 15.5
  max_s = 900
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  device = "kettle"
  min = -2.5
  max = 49
  hold_s = 600
  alarm_after_s = 0
  max_s = 3600.5
  [[recipes.steps]]
  name = "pour-moulds"
  kind = "manual"
  max_s = 1200
[[recipes]]
id = "plain_2"
  [[recipes.steps]]
  name = "warm"
  kind = "hold"
  device = "kettle"
  min = 20
  max = 30
  [[recipes.steps]]
  name = "stir"
  kind = "manual"
)",
                                "t.toml");
  REQUIRE(c.recipes.size() == 2);
  const Recipe& r = c.recipes[0];
  CHECK(r.id == "lavender-soap");
  CHECK(r.name == "Lavender soap, 40 bars");
  REQUIRE(r.steps.size() == 3);

  const RecipeStep& weigh = r.steps[0];
  CHECK(weigh.name == "weigh-oils");
  CHECK(weigh.kind == StepKind::weigh);
  CHECK(weigh.device == "bench-scale");
  CHECK(weigh.target == 3200.0);
  CHECK(weigh.tolerance == 15.5);
  CHECK(weigh.max_s == std::optional<double>(900.0));

  const RecipeStep& hold = r.steps[1];
  CHECK(hold.name == "heat-oils");
  CHECK(hold.kind == StepKind::hold);
  CHECK(hold.device == "kettle");
  CHECK(hold.min == -2.5);
  CHECK(hold.max == 49.0);
  CHECK(hold.hold_s == 600.0);
  CHECK(hold.alarm_after_s == 0.0);
  CHECK(hold.max_s == std::optional<double>(3600.5));

  const RecipeStep& manual = r.steps[2];
  CHECK(manual.name == "pour-moulds");
  CHECK(manual.kind == StepKind::manual);
  CHECK(manual.device.empty());
  CHECK(manual.max_s == std::optional<double>(1200.0));

  const Recipe& plain = c.recipes[1];
  CHECK(plain.id == "plain_2");
  CHECK(plain.name == "plain_2");  // the name defaults to the id
  REQUIRE(plain.steps.size() == 2);
  CHECK(plain.steps[0].hold_s == 0.0);
  CHECK(plain.steps[0].alarm_after_s == 10.0);
  CHECK_FALSE(plain.steps[0].max_s.has_value());
  CHECK(plain.steps[1].kind == StepKind::manual);

  CHECK(c.find_recipe("plain_2") == &c.recipes[1]);
  CHECK(c.find_recipe("nope") == nullptr);
  CHECK(c.warnings.empty());
  CHECK(std::string(to_string(StepKind::weigh)) == "weigh");
  CHECK(std::string(to_string(StepKind::hold)) == "hold");
  CHECK(std::string(to_string(StepKind::manual)) == "manual");
}

TEST_CASE("recipes: no [[recipes]] is no recipes") {
  CHECK(parse_config(station, "t.toml").recipes.empty());
}

TEST_CASE("recipes: must be an array of tables") {
  // A top-level key goes before the first table (after [[devices]] it would be a key of the last device).
  auto p = problems("recipes = 1\n" + station);
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:1:11: recipes must be an array of tables: [[recipes]]");

  p = problems("recipes = [\"lavender-soap\"]\n" + station);
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:1:11: recipes must be an array of tables: [[recipes]]");

  p = problems("recipes = []\n" + station);
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:1:11: recipes must be an array of tables: [[recipes]]");
}

TEST_CASE("recipes: id is required, [a-z0-9_-]+ and unique, and name is a string") {
  const auto p = problems(station + R"([[recipes]]
name = "no id"
  [[recipes.steps]]
  name = "a"
  kind = "manual"
[[recipes]]
id = "Lavender Soap"
  [[recipes.steps]]
  name = "a"
  kind = "manual"
[[recipes]]
id = "soap"
name = 42
  [[recipes.steps]]
  name = "a"
  kind = "manual"
[[recipes]]
id = "soap"
  [[recipes.steps]]
  name = "a"
  kind = "manual"
[[recipes]]
id = ""
name = ""
  [[recipes.steps]]
  name = "a"
  kind = "manual"
)");
  CHECK(has(p, "t.toml:9:1: recipes[1]: missing required key 'id'"));
  CHECK(has(p, "t.toml:15:6: recipes[2] (Lavender Soap) id: must match [a-z0-9_-]+"));
  CHECK(has(p, "t.toml:21:8: recipes[3] (soap) name: expected a string"));
  CHECK(has(p, "t.toml:26:6: recipes[4] (soap) id: duplicate recipe id \"soap\" (first defined at line 20)"));
  CHECK(has(p, "t.toml:31:6: recipes[5] id: must not be empty"));
  CHECK(has(p, "t.toml:32:8: recipes[5] name: must not be empty"));
  CHECK(p.size() == 6);
}

TEST_CASE("recipes: a recipe needs at least one step") {
  auto p = problems(station + "[[recipes]]\nid = \"empty\"\nname = \"Nothing to do\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:9:1: recipes[1] (empty): missing required key 'steps'");

  p = problems(station + "[[recipes]]\nid = \"empty\"\nsteps = []\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:11:9: recipes[1] (empty) steps: a recipe needs at least one step");

  p = problems(station + "[[recipes]]\nid = \"odd\"\nsteps = [\"weigh\", \"pour\"]\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:11:9: recipes[1] (odd) steps: expected an array of tables: [[recipes.steps]]");

  p = problems(station + "[[recipes]]\nid = \"odd\"\nsteps = \"weigh\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:11:9: recipes[1] (odd) steps: expected an array of tables: [[recipes.steps]]");
}

TEST_CASE("recipes: step names are required, [a-z0-9_-]+ and unique within their recipe") {
  const auto p = problems(station + R"([[recipes]]
id = "r1"
  [[recipes.steps]]
  kind = "manual"
  [[recipes.steps]]
  name = "Pour Moulds"
  kind = "manual"
  [[recipes.steps]]
  name = "pour"
  kind = "manual"
  [[recipes.steps]]
  name = "pour"
  kind = "manual"
[[recipes]]
id = "r2"
  [[recipes.steps]]
  name = "pour"
  kind = "manual"
)");
  CHECK(has(p, "t.toml:11:3: recipes[1] (r1) steps[1]: missing required key 'name'"));
  CHECK(has(p, "t.toml:14:10: recipes[1] (r1) steps[2] (Pour Moulds) name: must match [a-z0-9_-]+"));
  CHECK(has(p, "t.toml:20:10: recipes[1] (r1) steps[4] (pour) name: duplicate step name \"pour\" (first defined "
               "at line 17)"));
  CHECK(p.size() == 3);  // "pour" in another recipe is fine
}

TEST_CASE("recipes: a step's kind is required and one of weigh, hold, manual") {
  const auto p = problems(station + R"([[recipes]]
id = "r"
  [[recipes.steps]]
  name = "a"
  [[recipes.steps]]
  name = "b"
  kind = "stir"
  device = "kettel"
  target = 0
  hold_s = 5
  colour = "red"
  [[recipes.steps]]
  name = "c"
  kind = 3
)");
  CHECK(has(p, "t.toml:11:3: recipes[1] (r) steps[1] (a): missing required key 'kind'"));
  CHECK(has(p, "t.toml:15:10: recipes[1] (r) steps[2] (b) kind: \"stir\" is not one of \"weigh\", \"hold\", "
               "\"manual\""));
  // The kind is unknown, so nothing is required or refused, but the keys present are still checked.
  CHECK(has(p, "t.toml:16:12: recipes[1] (r) steps[2] (b) device: unknown device \"kettel\" (devices: "
               "bench-scale, kettle)"));
  CHECK(has(p, "t.toml:17:12: recipes[1] (r) steps[2] (b) target: must be greater than 0 (is 0)"));
  CHECK(has(p, "t.toml:19:3: recipes[1] (r) steps[2] (b): unknown key 'colour'"));
  CHECK(has(p, "t.toml:22:10: recipes[1] (r) steps[3] (c) kind: expected a string"));
  CHECK(p.size() == 6);
}

TEST_CASE("recipes: a weigh step needs a known device, a target above 0 and a tolerance of at least 0") {
  const auto p = problems(station + R"([[recipes]]
id = "lavender-soap"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  [[recipes.steps]]
  name = "weigh-lye"
  kind = "weigh"
  device = "scale"
  target = 0
  tolerance = -1
  [[recipes.steps]]
  name = "weigh-water"
  kind = "weigh"
  device = 7
  target = "1100"
  tolerance = nan
)");
  CHECK(has(p, "t.toml:11:3: recipes[1] (lavender-soap) steps[1] (weigh-oils): missing required key 'device'"));
  CHECK(has(p, "t.toml:11:3: recipes[1] (lavender-soap) steps[1] (weigh-oils): missing required key 'target'"));
  CHECK(has(p, "t.toml:11:3: recipes[1] (lavender-soap) steps[1] (weigh-oils): missing required key 'tolerance'"));
  CHECK(has(p, "t.toml:17:12: recipes[1] (lavender-soap) steps[2] (weigh-lye) device: unknown device \"scale\" "
               "(devices: bench-scale, kettle)"));
  CHECK(has(p, "t.toml:18:12: recipes[1] (lavender-soap) steps[2] (weigh-lye) target: must be greater than 0 (is 0)"));
  CHECK(has(p, "t.toml:19:15: recipes[1] (lavender-soap) steps[2] (weigh-lye) tolerance: must not be negative "
               "(is -1)"));
  CHECK(has(p, "t.toml:23:12: recipes[1] (lavender-soap) steps[3] (weigh-water) device: expected a string"));
  CHECK(has(p, "t.toml:24:12: recipes[1] (lavender-soap) steps[3] (weigh-water) target: expected a number"));
  CHECK(has(p, "t.toml:25:15: recipes[1] (lavender-soap) steps[3] (weigh-water) tolerance: must be a finite "
               "number"));
  CHECK(p.size() == 9);
}

TEST_CASE("recipes: a hold step needs a known device and min below max, and hold_s and alarm_after_s are not negative") {
  const auto p = problems(station + R"([[recipes]]
id = "lavender-soap"
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  [[recipes.steps]]
  name = "cool"
  kind = "hold"
  device = "kettel"
  min = 49
  max = 43
  hold_s = -600
  alarm_after_s = -10
  [[recipes.steps]]
  name = "rest"
  kind = "hold"
  device = "kettle"
  min = 20.0
  max = 20
  [[recipes.steps]]
  name = "warm"
  kind = "hold"
  device = "kettle"
  min = "20"
  max = 30
)");
  const std::string at = "recipes[1] (lavender-soap) steps[1] (heat-oils): missing required key ";
  CHECK(has(p, "t.toml:11:3: " + at + "'device'"));
  CHECK(has(p, "t.toml:11:3: " + at + "'min'"));
  CHECK(has(p, "t.toml:11:3: " + at + "'max'"));
  CHECK(has(p, "t.toml:17:12: recipes[1] (lavender-soap) steps[2] (cool) device: unknown device \"kettel\" "
               "(devices: bench-scale, kettle)"));
  CHECK(has(p, "t.toml:19:9: recipes[1] (lavender-soap) steps[2] (cool) max: must be greater than min (49)"));
  CHECK(has(p, "t.toml:20:12: recipes[1] (lavender-soap) steps[2] (cool) hold_s: must not be negative (is -600)"));
  CHECK(has(p, "t.toml:21:19: recipes[1] (lavender-soap) steps[2] (cool) alarm_after_s: must not be negative "
               "(is -10)"));
  CHECK(has(p, "t.toml:27:9: recipes[1] (lavender-soap) steps[3] (rest) max: must be greater than min (20)"));
  CHECK(has(p, "t.toml:32:9: recipes[1] (lavender-soap) steps[4] (warm) min: expected a number"));
  CHECK(p.size() == 9);
}

TEST_CASE("recipes: keys of another kind of step are errors, so a typo never passes quietly") {
  const auto p = problems(station + R"([[recipes]]
id = "r"
  [[recipes.steps]]
  name = "pour"
  kind = "manual"
  device = "kettle"
  target = 1
  tolerance = 1
  min = 1
  max = 2
  hold_s = 1
  alarm_after_s = 1
  [[recipes.steps]]
  name = "weigh"
  kind = "weigh"
  device = "bench-scale"
  target = 100
  tolerance = 1
  min = 99
  hold_s = 5
  [[recipes.steps]]
  name = "heat"
  kind = "hold"
  device = "kettle"
  min = 1
  max = 2
  target = 1.5
  tolerance = 0.5
)");
  const std::string manual = "recipes[1] (r) steps[1] (pour) ";
  CHECK(has(p, "t.toml:14:12: " + manual + "device: not used by a manual step"));
  CHECK(has(p, "t.toml:15:12: " + manual + "target: not used by a manual step"));
  CHECK(has(p, "t.toml:16:15: " + manual + "tolerance: not used by a manual step"));
  CHECK(has(p, "t.toml:17:9: " + manual + "min: not used by a manual step"));
  CHECK(has(p, "t.toml:18:9: " + manual + "max: not used by a manual step"));
  CHECK(has(p, "t.toml:19:12: " + manual + "hold_s: not used by a manual step"));
  CHECK(has(p, "t.toml:20:19: " + manual + "alarm_after_s: not used by a manual step"));
  CHECK(has(p, "t.toml:27:9: recipes[1] (r) steps[2] (weigh) min: not used by a weigh step"));
  CHECK(has(p, "t.toml:28:12: recipes[1] (r) steps[2] (weigh) hold_s: not used by a weigh step"));
  CHECK(has(p, "t.toml:35:12: recipes[1] (r) steps[3] (heat) target: not used by a hold step"));
  CHECK(has(p, "t.toml:36:15: recipes[1] (r) steps[3] (heat) tolerance: not used by a hold step"));
  CHECK(p.size() == 11);
}

TEST_CASE("recipes: max_s is above 0 on any step, and unknown keys are errors") {
  const auto p = problems(station + R"([[recipes]]
id = "r"
colour = "lavender"
  [[recipes.steps]]
  name = "pour"
  kind = "manual"
  max_s = 0
  [[recipes.steps]]
  name = "weigh"
  kind = "weigh"
  device = "bench-scale"
  target = 100
  tolerance = 1
  max_s = "1h"
  tolerence = 1
)");
  CHECK(has(p, "t.toml:11:1: recipes[1] (r): unknown key 'colour'"));
  CHECK(has(p, "t.toml:15:11: recipes[1] (r) steps[1] (pour) max_s: must be greater than 0 (is 0)"));
  CHECK(has(p, "t.toml:22:11: recipes[1] (r) steps[2] (weigh) max_s: expected a number"));
  CHECK(has(p, "t.toml:23:3: recipes[1] (r) steps[2] (weigh): unknown key 'tolerence'"));
  CHECK(p.size() == 4);
}

TEST_CASE("recipes: with no devices configured, every device named by a step is unknown") {
  const auto p = problems(R"([station]
id = "s"
[[recipes]]
id = "r"
  [[recipes.steps]]
  name = "weigh"
  kind = "weigh"
  device = "bench-scale"
  target = 100
  tolerance = 1
)");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:8:12: recipes[1] (r) steps[1] (weigh) device: unknown device \"bench-scale\" (no "
                "[[devices]] are configured)");
}

TEST_CASE("recipes: every problem is reported at once, with the rest of the configuration's") {
  const auto p = problems(R"([station]
id = "s"
mode = "batch"
[[devices]]
name = "kettle"
driver = "simulated"
[[recipes]]
id = "lavender-soap"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  device = "bench-scale"
  target = -3200
  tolerance = 15
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  device = "kettel"
  min = 43
  max = 49
  [[recipes.steps]]
  name = "heat-oils"
  kind = "manual"
  min = 20
[[recipes]]
id = "lavender-soap"
)");
  CHECK(has(p, "t.toml:3:8: [station] mode: \"batch\" is not one of \"process\", \"discrete\""));
  CHECK(has(p, "t.toml:12:12: recipes[1] (lavender-soap) steps[1] (weigh-oils) device: unknown device "
               "\"bench-scale\" (devices: kettle)"));
  CHECK(has(p, "t.toml:13:12: recipes[1] (lavender-soap) steps[1] (weigh-oils) target: must be greater than 0 "
               "(is -3200)"));
  CHECK(has(p, "t.toml:18:12: recipes[1] (lavender-soap) steps[2] (heat-oils) device: unknown device \"kettel\" "
               "(devices: kettle)"));
  CHECK(has(p, "t.toml:22:10: recipes[1] (lavender-soap) steps[3] (heat-oils) name: duplicate step name "
               "\"heat-oils\" (first defined at line 16)"));
  CHECK(has(p, "t.toml:24:9: recipes[1] (lavender-soap) steps[3] (heat-oils) min: not used by a manual step"));
  CHECK(has(p, "t.toml:26:6: recipes[2] (lavender-soap) id: duplicate recipe id \"lavender-soap\" (first defined "
               "at line 8)"));
  CHECK(has(p, "t.toml:25:1: recipes[2] (lavender-soap): missing required key 'steps'"));
  CHECK(p.size() == 8);
}

TEST_CASE("recipes: the example process station reads with its recipe") {
  const Config c = load_config(std::string(TALLY_SOURCE_DIR) + "/config/process-station.toml");
  REQUIRE(c.find_device("bench-scale") != nullptr);
  CHECK(c.find_device("bench-scale")->driver == "simulated");
  REQUIRE(c.find_device("kettle") != nullptr);
  REQUIRE(c.recipes.size() == 1);
  const Recipe* r = c.find_recipe("lavender-soap");
  REQUIRE(r != nullptr);
  CHECK(r->name == "Lavender soap, 40 bars");
  REQUIRE(r->steps.size() == 4);

  CHECK(r->steps[0].name == "weigh-oils");
  CHECK(r->steps[0].kind == StepKind::weigh);
  CHECK(r->steps[0].device == "bench-scale");
  CHECK(r->steps[0].target == 3200.0);
  CHECK(r->steps[0].tolerance == 15.0);

  CHECK(r->steps[1].name == "weigh-lye");
  CHECK(r->steps[1].kind == StepKind::weigh);
  CHECK(r->steps[1].device == "bench-scale");
  CHECK(r->steps[1].target == 1100.0);
  CHECK(r->steps[1].tolerance == 10.0);

  CHECK(r->steps[2].name == "heat-oils");
  CHECK(r->steps[2].kind == StepKind::hold);
  CHECK(r->steps[2].device == "kettle");
  CHECK(r->steps[2].min == 43.0);
  CHECK(r->steps[2].max == 49.0);
  CHECK(r->steps[2].hold_s == 600.0);
  CHECK(r->steps[2].alarm_after_s == 10.0);
  CHECK(r->steps[2].max_s == std::optional<double>(3600.0));

  CHECK(r->steps[3].name == "pour-moulds");
  CHECK(r->steps[3].kind == StepKind::manual);
  CHECK_FALSE(r->steps[3].max_s.has_value());
}

TEST_CASE("recipes: a recipe of 10,000 steps is refused with its position, and 100 steps are fine") {
  auto recipe_of = [](int steps) {
    std::string text = station + "[[recipes]]\nid = \"long\"\n";
    for (int i = 0; i < steps; ++i) text += "  [[recipes.steps]]\n  name = \"s" + std::to_string(i) + "\"\n  kind = \"manual\"\n";
    return text;
  };
  const auto p = problems(recipe_of(10000));
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:11:3: recipes[1] (long) steps: 10000 steps; at most 100 are allowed");
  CHECK(parse_config(recipe_of(100), "t.toml").recipes.at(0).steps.size() == 100);
}
