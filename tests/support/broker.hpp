#pragma once
// The tests' mosquitto is the rig's (tools/rig/broker.hpp: a free loopback port, ready when constructed, restarted
// on the same port, persistence and a second, secured listener as options).
#include "rig/broker.hpp"

namespace tally::test {
using rig::Broker;
using rig::BrokerOptions;
using rig::free_loopback_port;
}  // namespace tally::test
