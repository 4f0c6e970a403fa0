// parseIbft(buf: Buffer | Uint8Array): the core's iBFT parser exposed as a
// plain, synchronous function returning every field of the table as a JS
// object (camelCase; absent addresses and strings are null). A bad table
// throws an Error with code 'FIRMWARE_INVALID_TABLE' whose message is the
// core's, which names the field ("target0.nic_assoc: ...") and never
// contains string contents. The JS facade (lib/firmware/) wraps the CHAP
// secrets in a redacting object; this layer only copies values.
#include <napi.h>

#include <string>

extern "C" {
#include "isc/errors.h"
#include "isc/ibft.h"
}

namespace iscsi_addon {
namespace {

Napi::Value Ip(Napi::Env env, const isc_ibft_ip &ip) {
  if (!ip.present) return env.Null();
  return Napi::String::New(env, ip.text);
}

Napi::Value Str(Napi::Env env, const char *s) {
  if (!s) return env.Null();
  return Napi::String::New(env, s);
}

void Header(Napi::Object o, uint16_t offset, uint8_t version, uint16_t length, uint8_t index,
            uint8_t flags) {
  Napi::Env env = o.Env();
  o.Set("offset", Napi::Number::New(env, offset));
  o.Set("version", Napi::Number::New(env, version));
  o.Set("length", Napi::Number::New(env, length));
  o.Set("index", Napi::Number::New(env, index));
  o.Set("flags", Napi::Number::New(env, flags));
  o.Set("valid", Napi::Boolean::New(env, (flags & ISC_IBFT_FL_VALID) != 0));
  o.Set("bootSelected", Napi::Boolean::New(env, (flags & ISC_IBFT_FL_BOOT_SELECTED) != 0));
}

Napi::Object Initiator(Napi::Env env, const isc_ibft_initiator &i) {
  Napi::Object o = Napi::Object::New(env);
  Header(o, i.offset, i.version, i.length, i.index, i.flags);
  o.Set("isnsServer", Ip(env, i.isns_server));
  o.Set("slpServer", Ip(env, i.slp_server));
  o.Set("priRadiusServer", Ip(env, i.pri_radius_server));
  o.Set("secRadiusServer", Ip(env, i.sec_radius_server));
  o.Set("name", Str(env, i.name));
  return o;
}

Napi::Object Nic(Napi::Env env, const isc_ibft_nic &n) {
  Napi::Object o = Napi::Object::New(env);
  Header(o, n.offset, n.version, n.length, n.index, n.flags);
  o.Set("global", Napi::Boolean::New(env, (n.flags & ISC_IBFT_FL_NIC_GLOBAL) != 0));
  o.Set("ip", Ip(env, n.ip));
  o.Set("prefixLength", Napi::Number::New(env, n.prefix_len));
  o.Set("subnetMask", n.subnet_mask[0] ? Napi::Value(Napi::String::New(env, n.subnet_mask)) : env.Null());
  o.Set("origin", Napi::Number::New(env, n.origin));
  o.Set("gateway", Ip(env, n.gateway));
  o.Set("primaryDns", Ip(env, n.primary_dns));
  o.Set("secondaryDns", Ip(env, n.secondary_dns));
  o.Set("dhcpServer", Ip(env, n.dhcp_server));
  o.Set("vlan", Napi::Number::New(env, n.vlan));
  o.Set("mac", Napi::String::New(env, n.mac_text));
  o.Set("pciBdf", Napi::Number::New(env, n.pci_bdf));
  o.Set("hostname", Str(env, n.hostname));
  return o;
}

Napi::Object Target(Napi::Env env, const isc_ibft_target &t) {
  Napi::Object o = Napi::Object::New(env);
  Header(o, t.offset, t.version, t.length, t.index, t.flags);
  o.Set("radiusChap", Napi::Boolean::New(env, (t.flags & ISC_IBFT_FL_TARGET_RADIUS_CHAP) != 0));
  o.Set("radiusReverseChap", Napi::Boolean::New(env, (t.flags & ISC_IBFT_FL_TARGET_RADIUS_RCHAP) != 0));
  o.Set("ip", Ip(env, t.ip));
  o.Set("port", Napi::Number::New(env, t.port));
  o.Set("lunRaw", Napi::Buffer<uint8_t>::Copy(env, t.lun_raw, sizeof(t.lun_raw)));
  o.Set("lun", t.lun >= 0 ? Napi::Value(Napi::Number::New(env, static_cast<double>(t.lun))) : env.Null());
  o.Set("lunSysfs", Napi::String::New(env, t.lun_sysfs));
  o.Set("chapType", Napi::Number::New(env, t.chap_type));
  o.Set("nicAssoc", Napi::Number::New(env, t.nic_assoc));
  o.Set("nic", Napi::Number::New(env, static_cast<double>(t.nic)));
  o.Set("targetName", Str(env, t.target_name));
  o.Set("chapName", Str(env, t.chap_name));
  o.Set("chapSecret", Str(env, t.chap_secret));
  o.Set("reverseChapName", Str(env, t.rev_chap_name));
  o.Set("reverseChapSecret", Str(env, t.rev_chap_secret));
  return o;
}

Napi::Object Table(Napi::Env env, const isc_ibft &t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("signature", Napi::String::New(env, t.signature));
  o.Set("length", Napi::Number::New(env, t.length));
  o.Set("revision", Napi::Number::New(env, t.revision));
  o.Set("checksum", Napi::Number::New(env, t.checksum));
  o.Set("oemId", Napi::String::New(env, t.oem_id));
  o.Set("oemTableId", Napi::String::New(env, t.oem_table_id));
  o.Set("oemRevision", Napi::Number::New(env, t.oem_revision));
  o.Set("aslCompilerId", Napi::Number::New(env, t.asl_compiler_id));
  o.Set("aslCompilerRevision", Napi::Number::New(env, t.asl_compiler_revision));

  Napi::Object control = Napi::Object::New(env);
  control.Set("version", Napi::Number::New(env, t.control_version));
  control.Set("length", Napi::Number::New(env, t.control_length));
  control.Set("flags", Napi::Number::New(env, t.control_flags));
  control.Set("singleLogin", Napi::Boolean::New(env, (t.control_flags & ISC_IBFT_FL_CONTROL_SINGLE_LOGIN) != 0));
  control.Set("extensionsOffset", Napi::Number::New(env, t.extensions_offset));
  Napi::Array pairs = Napi::Array::New(env, t.pair_count);
  for (size_t i = 0; i < t.pair_count; i++) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("nicOffset", Napi::Number::New(env, t.pairs[i].nic_offset));
    p.Set("targetOffset", Napi::Number::New(env, t.pairs[i].target_offset));
    pairs.Set(static_cast<uint32_t>(i), p);
  }
  control.Set("pairs", pairs);
  o.Set("control", control);

  o.Set("initiator", t.initiator.present ? Napi::Value(Initiator(env, t.initiator)) : env.Null());
  Napi::Array nics = Napi::Array::New(env, t.nic_count);
  for (size_t i = 0; i < t.nic_count; i++) nics.Set(static_cast<uint32_t>(i), Nic(env, t.nics[i]));
  o.Set("nics", nics);
  Napi::Array targets = Napi::Array::New(env, t.target_count);
  for (size_t i = 0; i < t.target_count; i++) targets.Set(static_cast<uint32_t>(i), Target(env, t.targets[i]));
  o.Set("targets", targets);
  return o;
}

}  // namespace

Napi::Value ParseIbft(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::Error e = Napi::TypeError::New(env, "parseIbft(buf): buf must be a Buffer or Uint8Array");
    e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  isc_ibft *table = nullptr;
  char err[256];
  int rc = isc_ibft_parse(buf.Data(), buf.ByteLength(), &table, err, sizeof(err));
  if (rc != 0) {
    bool invalid = rc == ISC_ERR_PROTOCOL || rc == ISC_ERR_UNSUPPORTED;
    Napi::Error e = Napi::Error::New(
        env, invalid ? std::string("invalid iBFT: ") + err : std::string(err[0] ? err : isc_strerror(rc)));
    e.Set("code", Napi::String::New(env, invalid ? "FIRMWARE_INVALID_TABLE" : isc_err_code(rc)));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Table(env, *table);
  isc_ibft_free(table);  // zeroes the C copies of the secrets
  return out;
}

}  // namespace iscsi_addon
