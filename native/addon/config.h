// Conversion of the JS session config object into a C isc_config.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

extern "C" {
#include "isc/iscsi.h"
}

namespace iscsi_addon {

// Owns the strings and secret bytes an isc_config points to until
// isc_ctx_new() has copied them; Wipe() zeroes the secret copies.
struct ConfigHolder {
  isc_config cfg{};
  std::string initiator_name, initiator_alias, target_name, portal_text;
  std::string username, reverse_username;
  std::vector<uint8_t> secret, reverse_secret;
  Napi::Value log;
  Napi::Value event;  // onEvent(kind, code, attempt, message)
  uint32_t busy_poll_us = 0;  // addon-only: see NativeSession::busy_poll_us_
  int rx_coalesce = 0;        // isc_config.rx_coalesce
  void Wipe();
  ~ConfigHolder() { Wipe(); }
};

// Returns false with a message naming the bad field.
bool ParseConfig(const Napi::Object &obj, ConfigHolder *out, std::string *error);

}  // namespace iscsi_addon
