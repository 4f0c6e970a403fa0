// NativeIscsid implementation. See iscsid.h.
#include "iscsid.h"

#include "loop-util.h"

#include <poll.h>

#include <algorithm>
#include <string>
#include <vector>

namespace iscsi_addon {

namespace {

Napi::Value RejectedPromise(Napi::Env env, Napi::Error e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(e.Value());
  return d.Promise();
}

}  // namespace

Napi::Function NativeIscsid::Init(Napi::Env env) {
  return DefineClass(env, "NativeIscsid",
                     {
                         InstanceMethod<&NativeIscsid::Probe>("probe"),
                         InstanceMethod<&NativeIscsid::Login>("login"),
                         InstanceMethod<&NativeIscsid::Request>("request"),
                         InstanceMethod<&NativeIscsid::Abort>("abort"),
                         InstanceMethod<&NativeIscsid::Close>("close"),
                     });
}

// new NativeIscsid(socketName?: string)
NativeIscsid::NativeIscsid(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<NativeIscsid>(info), env_(info.Env()), data_(env_.GetInstanceData<AddonData>()) {
  Napi::Env env = info.Env();
  std::string name;
  bool custom = info.Length() > 0 && info[0].IsString();
  if (custom) name = info[0].As<Napi::String>().Utf8Value();
  int rc = isc_iscsid_new(custom ? name.c_str() : nullptr, &client_);
  if (rc != ISC_OK) {
    MakeError(env, rc, "").ThrowAsJavaScriptException();
    return;
  }
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return;
  }
  async_ctx_ = std::make_unique<Napi::AsyncContext>(env, "iscsi-initiator:iscsid");
  next_ = data_->iscsids;
  if (next_) next_->prev_ = this;
  data_->iscsids = this;
}

NativeIscsid::~NativeIscsid() {
  // Never with an operation pending: the object is Ref()'d meanwhile.
  tearing_down_ = true;
  isc_iscsid_free(client_);
  client_ = nullptr;
  ClosePoll();
  Unlink();
}

void NativeIscsid::Unlink() {
  if (!data_) return;
  if (prev_) prev_->next_ = next_;
  else if (data_->iscsids == this) data_->iscsids = next_;
  if (next_) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void NativeIscsid::Teardown() {
  tearing_down_ = true;
  isc_iscsid_free(client_);  // zeroes any buffered login request
  client_ = nullptr;
  ClosePoll();
  Unlink();
  data_ = nullptr;
  pending_.reset();  // dropped without settling: the env is going away
}

void NativeIscsid::ClosePoll() {
  if (!poll_) return;
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t *>(poll_), DeleteHandle);
  poll_ = nullptr;
  poll_fd_ = -1;
  poll_events_ = 0;
}

Napi::Error NativeIscsid::MakeError(Napi::Env env, int rc, const char *detail) {
  std::string msg = isc_strerror(rc);
  if (detail && *detail) msg += std::string(": ") + detail;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, isc_err_code(rc)));
  if (detail && *detail) e.Set("detail", Napi::String::New(env, detail));
  return e;
}

void NativeIscsid::Rearm() {
  int fd = client_ ? isc_iscsid_fd(client_) : -1;
  unsigned gen = client_ ? isc_iscsid_fd_generation(client_) : 0;
  if (poll_ && (fd != poll_fd_ || gen != poll_gen_)) ClosePoll();
  if (fd >= 0 && loop_) {
    if (!poll_) {
      poll_ = new uv_poll_t;
      if (uv_poll_init_socket(loop_, poll_, fd) != 0) {
        delete poll_;
        poll_ = nullptr;
      } else {
        poll_->data = this;
        poll_fd_ = fd;
        poll_gen_ = gen;
      }
    }
    if (poll_) {
      int ev = isc_iscsid_events(client_);
      int uvev = UvEventsFor(ev);
      if (uvev != poll_events_) {
        if (uvev) uv_poll_start(poll_, uvev | UV_DISCONNECT, &NativeIscsid::OnPoll);
        else uv_poll_stop(poll_);
        poll_events_ = uvev;
      }
    }
  }
  bool pending = static_cast<bool>(pending_);
  if (pending && !referenced_) {
    referenced_ = true;
    Ref();
  } else if (!pending && referenced_) {
    referenced_ = false;
    Unref();
  }
}

// rc: 1 = response (resolve), < 0 = failure (reject).
void NativeIscsid::Settle(int rc) {
  if (!pending_) return;
  std::unique_ptr<Napi::Promise::Deferred> d = std::move(pending_);
  Napi::Env env = env_;
  if (rc < 0) {
    d->Reject(MakeError(env, rc, isc_iscsid_probe_detail(client_)).Value());
    return;
  }
  const isc_iscsid_response *r = isc_iscsid_result(client_);
  const struct isc_rec_layout *l = isc_iscsid_layout(client_);
  Napi::Object out = Napi::Object::New(env);
  out.Set("command", Napi::Number::New(env, r->command));
  out.Set("iscsidError", Napi::Number::New(env, r->iscsid_err));
  out.Set("iscsidErrorName", Napi::String::New(env, isc_iscsid_error_name(r->iscsid_err)));
  int mapped = isc_iscsid_error(r->iscsid_err);
  out.Set("code", mapped == ISC_OK ? env.Null() : Napi::String::New(env, isc_err_code(mapped)));
  out.Set("text", Napi::String::New(env, r->text));
  out.Set("sessionState", Napi::Number::New(env, r->session_state));
  out.Set("connState", Napi::Number::New(env, r->conn_state));
  out.Set("requestSize", Napi::Number::New(env, static_cast<double>(isc_iscsid_layout_request_size(l))));
  out.Set("versions", Napi::String::New(env, isc_iscsid_layout_versions(l)));
  d->Resolve(out);
}

void NativeIscsid::Service(int revents) {
  if (!client_) return;
  Napi::HandleScope scope(env_);
  if (!data_ || !CanCallJs(env_, &data_->js_probe)) {
    Teardown();
    return;
  }
  Napi::CallbackScope cb_scope(env_, *async_ctx_);
  int rc = isc_iscsid_service(client_, revents);
  if (rc != 0) Settle(rc);
  Rearm();
}

void NativeIscsid::OnPoll(uv_poll_t *handle, int status, int events) {
  static_cast<NativeIscsid *>(handle->data)->Service(PollReventsFor(status, events));
}

template <typename Start>
Napi::Value NativeIscsid::Begin(Napi::Env env, Start start) {
  if (!client_) {
    Napi::Error e = Napi::Error::New(env, "the iscsid client is closed");
    e.Set("code", Napi::String::New(env, isc_err_code(ISC_ERR_CLOSED)));
    return RejectedPromise(env, e);
  }
  if (pending_) return RejectedPromise(env, MakeError(env, ISC_ERR_STATE, "an iscsid request is already running"));
  std::string bad;
  int rc = start(bad);
  if (rc < 0) {
    Napi::Error e = MakeError(env, rc, isc_iscsid_probe_detail(client_));
    if (!bad.empty()) e.Set("key", Napi::String::New(env, bad));
    return RejectedPromise(env, e);
  }
  pending_ = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::Promise p = pending_->Promise();
  // The first step (connect + write) usually completes right away.
  rc = isc_iscsid_service(client_, 0);
  if (rc != 0) Settle(rc);
  Rearm();
  return p;
}

Napi::Value NativeIscsid::Probe(const Napi::CallbackInfo &info) {
  return Begin(info.Env(), [this](std::string &) { return isc_iscsid_probe_start(client_); });
}

// login(keys: string[], values: string[]): the values may hold CHAP
// secrets; the copies made here are wiped before returning.
Napi::Value NativeIscsid::Login(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "login(keys, values) expects two arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array jk = info[0].As<Napi::Array>(), jv = info[1].As<Napi::Array>();
  if (jk.Length() != jv.Length() || jk.Length() > 1024) {
    Napi::TypeError::New(env, "login(keys, values): arrays of equal length (<= 1024) expected")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<std::string> keys, values;
  for (uint32_t i = 0; i < jk.Length(); i++) {
    Napi::Value k = jk.Get(i), v = jv.Get(i);
    if (!k.IsString() || !v.IsString()) {
      Napi::TypeError::New(env, "login(keys, values): strings expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    keys.push_back(k.As<Napi::String>().Utf8Value());
    values.push_back(v.As<Napi::String>().Utf8Value());
    // Embedded NULs would silently truncate a value in C.
    if (keys.back().find('\0') != std::string::npos || values.back().find('\0') != std::string::npos) {
      for (auto &s : values) std::fill(s.begin(), s.end(), '\0');
      Napi::TypeError::New(env, "login(keys, values): NUL characters are not allowed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  std::vector<const char *> kp, vp;
  for (size_t i = 0; i < keys.size(); i++) {
    kp.push_back(keys[i].c_str());
    vp.push_back(values[i].c_str());
  }
  Napi::Value p = Begin(env, [&](std::string &bad) {
    char badbuf[128];
    int rc = isc_iscsid_login_start(client_, kp.data(), vp.data(), kp.size(), badbuf, sizeof(badbuf));
    if (rc < 0) bad = badbuf;
    return rc;
  });
  // Wipe our copies of the secrets (the core keeps its own until sent).
  for (auto &s : values) {
    volatile char *c = s.empty() ? nullptr : &s[0];
    for (size_t i = 0; i < s.size(); i++) c[i] = 0;
  }
  return p;
}

// request(command: number, sid: number)
Napi::Value NativeIscsid::Request(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "request(command, sid) expects two numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int command = info[0].As<Napi::Number>().Int32Value();
  int sid = info[1].As<Napi::Number>().Int32Value();
  return Begin(env, [&](std::string &) { return isc_iscsid_request_start(client_, command, sid); });
}

// abort(code): abandon the running request, like NativeSession.abort():
// the pending promise rejects with 'ETIMEDOUT' when that is the code given
// (the caller's deadline), else ABORT_ERR.
void NativeIscsid::Abort(const Napi::CallbackInfo &info) {
  bool timeout = info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "ETIMEDOUT";
  Cancel(timeout ? ISC_ERR_TIMEDOUT : ISC_ERR_CANCELLED);
}

void NativeIscsid::Cancel(int rc) {
  if (client_) isc_iscsid_cancel(client_);
  if (pending_) {
    Napi::HandleScope scope(env_);
    std::unique_ptr<Napi::Promise::Deferred> d = std::move(pending_);
    d->Reject(MakeError(env_, rc, "").Value());
  }
  Rearm();
}

void NativeIscsid::Close(const Napi::CallbackInfo &info) {
  Cancel(ISC_ERR_CANCELLED);
  isc_iscsid_free(client_);
  client_ = nullptr;
  ClosePoll();
  Unlink();
}

}  // namespace iscsi_addon
