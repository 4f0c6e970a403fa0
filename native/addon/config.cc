// JS config object -> isc_config. Validation of user-facing arguments lives
// in the TypeScript facade; this layer only refuses what would be unsafe to
// hand to C (wrong types, out-of-range numbers).
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmath>
#include <cstring>

extern "C" {
#include "bytes.h"
#include "chap.h"
}

namespace iscsi_addon {

void ConfigHolder::Wipe() {
  if (!secret.empty()) isc_memzero(secret.data(), secret.size());
  if (!reverse_secret.empty()) isc_memzero(reverse_secret.data(), reverse_secret.size());
  secret.clear();
  reverse_secret.clear();
}

namespace {

bool GetString(const Napi::Object &o, const char *key, std::string *out, bool required, std::string *error) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) *error = std::string("config.") + key + " is required";
    return !required;
  }
  if (!v.IsString()) {
    *error = std::string("config.") + key + " must be a string";
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    *error = std::string("config.") + key + " contains a NUL character";
    return false;
  }
  return true;
}

bool GetU32(const Napi::Object &o, const char *key, uint32_t *out, double min, double max, std::string *error) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || d != std::floor(d) || d < min || d > max) {
    *error = std::string("config.") + key + " is out of range";
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

bool GetSecret(const Napi::Object &o, const char *key, std::vector<uint8_t> *out, std::string *error) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsBuffer()) {
    *error = std::string("config.") + key + " must be a Buffer";
    return false;
  }
  auto b = v.As<Napi::Buffer<uint8_t>>();
  if (b.Length() == 0 || b.Length() > 1024) {
    *error = std::string("config.") + key + " must be 1..1024 bytes";
    return false;
  }
  out->assign(b.Data(), b.Data() + b.Length());
  return true;
}

bool GetDigest(const Napi::Object &o, const char *key, int *out, std::string *error) {
  std::string s;
  if (!GetString(o, key, &s, false, error)) return false;
  if (s.empty() || s == "none") *out = ISC_DIGEST_NONE;
  else if (s == "crc32c") *out = ISC_DIGEST_CRC32C;
  else if (s == "prefer-crc32c") *out = ISC_DIGEST_PREFER_CRC32C;
  else if (s == "prefer-none") *out = ISC_DIGEST_PREFER_NONE;
  else {
    *error = std::string("config.") + key + " must be none, crc32c, prefer-crc32c or prefer-none";
    return false;
  }
  return true;
}

}  // namespace

bool ParseConfig(const Napi::Object &obj, ConfigHolder *h, std::string *error) {
  isc_config &c = h->cfg;
  std::memset(&c, 0, sizeof(c));
  std::string type, address;
  uint32_t port = 3260;

  if (!GetString(obj, "sessionType", &type, true, error)) return false;
  if (type == "discovery") c.session_type = ISC_SESSION_DISCOVERY;
  else if (type == "normal") c.session_type = ISC_SESSION_NORMAL;
  else {
    *error = "config.sessionType must be 'discovery' or 'normal'";
    return false;
  }
  if (!GetString(obj, "initiatorName", &h->initiator_name, true, error)) return false;
  if (!GetString(obj, "initiatorAlias", &h->initiator_alias, false, error)) return false;
  if (!GetString(obj, "targetName", &h->target_name, c.session_type == ISC_SESSION_NORMAL, error)) return false;
  if (!GetString(obj, "address", &address, true, error)) return false;
  if (!GetU32(obj, "port", &port, 1, 65535, error)) return false;
  if (!GetString(obj, "portalText", &h->portal_text, false, error)) return false;
  if (!GetString(obj, "username", &h->username, false, error)) return false;
  if (!GetString(obj, "reverseUsername", &h->reverse_username, false, error)) return false;
  if (!GetSecret(obj, "secret", &h->secret, error)) return false;
  if (!GetSecret(obj, "reverseSecret", &h->reverse_secret, error)) return false;
  if (!GetDigest(obj, "headerDigest", &c.header_digest, error)) return false;
  if (!GetDigest(obj, "dataDigest", &c.data_digest, error)) return false;
  if (!GetU32(obj, "maxRecvDataSegmentLength", &c.max_recv_data_segment_length, 512, 16777215, error)) return false;
  if (!GetU32(obj, "maxBurstLength", &c.max_burst_length, 512, 16777215, error)) return false;
  if (!GetU32(obj, "firstBurstLength", &c.first_burst_length, 512, 16777215, error)) return false;
  if (!GetU32(obj, "loginTimeoutMs", &c.login_timeout_ms, 1, 2147483647, error)) return false;
  if (!GetU32(obj, "commandTimeoutMs", &c.command_timeout_ms, 1, 2147483647, error)) return false;
  if (!GetU32(obj, "logoutTimeoutMs", &c.logout_timeout_ms, 1, 2147483647, error)) return false;
  if (!GetU32(obj, "maxRedirects", &c.max_redirects, 0, 32, error)) return false;
  if (!GetU32(obj, "maxReconnects", &c.max_reconnects, 0, 1000, error)) return false;
  if (!GetU32(obj, "reconnectDelayMs", &c.reconnect_delay_ms, 1, 600000, error)) return false;
  if (!GetU32(obj, "reconnectMaxDelayMs", &c.reconnect_max_delay_ms, 1, 600000, error)) return false;
  if (!GetU32(obj, "nopIntervalMs", &c.nop_interval_ms, 0, 2147483647, error)) return false;
  if (!GetU32(obj, "nopTimeoutMs", &c.nop_timeout_ms, 1, 2147483647, error)) return false;
  if (!GetU32(obj, "tmfTimeoutMs", &c.tmf_timeout_ms, 1, 2147483647, error)) return false;
  if (!GetU32(obj, "busyPollUs", &h->busy_poll_us, 0, 1000000, error)) return false;
  uint32_t logout_close = 0;
  if (!GetU32(obj, "asyncLogoutClose", &logout_close, 0, 1, error)) return false;
  c.async_logout_close = static_cast<int>(logout_close);
  uint32_t coalesce = 0;
  if (!GetU32(obj, "rxCoalesce", &coalesce, 0, 1, error)) return false;
  h->rx_coalesce = static_cast<int>(coalesce);
  uint32_t level = 0;
  if (!GetU32(obj, "logLevel", &level, 0, 4, error)) return false;
  c.log_level = static_cast<int>(level);

  Napi::Value algs = obj.Get("chapAlgorithms");
  if (!algs.IsUndefined() && !algs.IsNull()) {
    if (!algs.IsArray()) {
      *error = "config.chapAlgorithms must be an array";
      return false;
    }
    Napi::Array a = algs.As<Napi::Array>();
    if (a.Length() == 0 || a.Length() > ISC_MAX_CHAP_ALGS) {
      *error = "config.chapAlgorithms must list 1 to 4 algorithms";
      return false;
    }
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      int alg = v.IsString() ? isc_chap_alg_from_name(v.As<Napi::String>().Utf8Value().c_str()) : -1;
      if (alg < 0) {
        *error = "config.chapAlgorithms has an unknown algorithm (use SHA3-256, SHA256, SHA1, MD5)";
        return false;
      }
      c.chap_algs[c.chap_alg_count++] = alg;
    }
  }
  h->log = obj.Get("log");
  h->event = obj.Get("onEvent");

  if (isc_parse_numeric_portal(address.c_str(), static_cast<uint16_t>(port), &c.addr, &c.addrlen) != ISC_OK) {
    *error = "config.address must be a numeric IPv4 or IPv6 address";
    return false;
  }
  // The port field wins over one embedded in the address text.
  if (c.addr.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in *>(&c.addr)->sin_port = htons(static_cast<uint16_t>(port));
  else
    reinterpret_cast<sockaddr_in6 *>(&c.addr)->sin6_port = htons(static_cast<uint16_t>(port));

  if (!h->username.empty() && h->secret.empty()) {
    *error = "CHAP needs a password with the username";
    return false;
  }
  if (!h->reverse_username.empty() && (h->reverse_secret.empty() || h->username.empty())) {
    *error = "mutual CHAP needs username, password, reverseUsername and reversePassword";
    return false;
  }
  c.initiator_name = h->initiator_name.c_str();
  c.initiator_alias = h->initiator_alias.empty() ? nullptr : h->initiator_alias.c_str();
  c.target_name = h->target_name.empty() ? nullptr : h->target_name.c_str();
  c.portal_text = h->portal_text.empty() ? nullptr : h->portal_text.c_str();
  c.username = h->username.empty() ? nullptr : h->username.c_str();
  c.reverse_username = h->reverse_username.empty() ? nullptr : h->reverse_username.c_str();
  c.secret = h->secret.empty() ? nullptr : h->secret.data();
  c.secret_len = h->secret.size();
  c.reverse_secret = h->reverse_secret.empty() ? nullptr : h->reverse_secret.data();
  c.reverse_secret_len = h->reverse_secret.size();
  return true;
}

}  // namespace iscsi_addon
