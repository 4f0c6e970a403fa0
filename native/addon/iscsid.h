// NativeIscsid: the core's iscsid management-IPC client (isc/iscsid.h)
// driven by a uv_poll_t on the calling thread's loop, one operation at a
// time, each returning a promise. Like NativeSession it never blocks and
// never parks a threadpool thread: iscsid can take minutes to answer a
// login, and the JS facade owns the deadline (it calls abort(code)).
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "session.h"

extern "C" {
#include "isc/iscsid.h"
}

namespace iscsi_addon {

class NativeIscsid : public Napi::ObjectWrap<NativeIscsid> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeIscsid(const Napi::CallbackInfo &info);
  ~NativeIscsid() override;

  // Environment teardown: free everything without calling into JS.
  void Teardown();

  NativeIscsid *next_ = nullptr;
  NativeIscsid *prev_ = nullptr;

 private:
  Napi::Value Probe(const Napi::CallbackInfo &info);
  Napi::Value Login(const Napi::CallbackInfo &info);
  Napi::Value Request(const Napi::CallbackInfo &info);
  void Abort(const Napi::CallbackInfo &info);
  void Cancel(int rc);
  void Close(const Napi::CallbackInfo &info);

  template <typename Start>
  Napi::Value Begin(Napi::Env env, Start start);
  void Service(int revents);
  void Settle(int rc);
  void Rearm();
  void ClosePoll();
  void Unlink();
  Napi::Error MakeError(Napi::Env env, int rc, const char *detail);

  static void OnPoll(uv_poll_t *handle, int status, int events);

  Napi::Env env_;
  AddonData *data_;
  isc_iscsid *client_ = nullptr;
  uv_loop_t *loop_ = nullptr;
  uv_poll_t *poll_ = nullptr;
  int poll_fd_ = -1;
  unsigned poll_gen_ = 0;
  int poll_events_ = 0;
  std::unique_ptr<Napi::Promise::Deferred> pending_;
  std::unique_ptr<Napi::AsyncContext> async_ctx_;
  bool referenced_ = false;
  bool tearing_down_ = false;
};

}  // namespace iscsi_addon
