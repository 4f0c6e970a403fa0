// Module entry: registers NativeSession and small introspection helpers,
// and closes every live session when the environment (process or worker
// thread) is torn down.
#include <dlfcn.h>
#include <napi.h>

#include "iscsid.h"
#include "session.h"

extern "C" {
#include "crc32c.h"
}

namespace iscsi_addon {
Napi::Value ParseIbft(const Napi::CallbackInfo &info);  // firmware.cc
namespace {

void CleanupHook(void *arg) {
  auto *data = static_cast<AddonData *>(arg);
  while (data->sessions) data->sessions->Teardown();
  while (data->iscsids) data->iscsids->Teardown();
}

Napi::Value ErrorCodes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int e = -1; e > ISC_ERR__LAST; e--) out.Set(n++, Napi::String::New(env, isc_err_code(e)));
  return out;
}

Napi::Value Crc32cImplementation(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), isc_crc32c_have_hw() ? "sse4.2" : "software");
}

Napi::Value CoreVersion(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), "isc-core/" + std::to_string(ISC_API_VERSION));
}

// When only a worker thread loaded the addon, Node unloads the shared
// object as that worker's environment ends, but libuv still runs our
// uv_close() callbacks afterwards (Worker::Run drains the loop after
// FreeEnvironment): code that is gone by then. Marking the already-loaded
// object RTLD_NODELETE keeps it mapped for the life of the process.
void PinModule() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&PinModule), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinModule();
  auto *data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by node at env teardown
  napi_add_env_cleanup_hook(env, CleanupHook, data);
  Napi::Function ctor = NativeSession::Init(env);
  data->session_ctor = Napi::Persistent(ctor);
  exports.Set("NativeSession", ctor);
  exports.Set("NativeIscsid", NativeIscsid::Init(env));
  exports.Set("errorCodes", Napi::Function::New(env, ErrorCodes));
  exports.Set("crc32cImplementation", Napi::Function::New(env, Crc32cImplementation));
  exports.Set("coreVersion", Napi::Function::New(env, CoreVersion));
  exports.Set("parseIbft", Napi::Function::New(env, ParseIbft));
  return exports;
}

}  // namespace
}  // namespace iscsi_addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return iscsi_addon::Init(env, exports);
}

NODE_API_MODULE(iscsi_initiator, InitModule)
