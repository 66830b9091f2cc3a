/*
 * srtp-sender: one viewer's RTP output — header rewrite, SRTP protection and the UDP send —
 * in one native call per packet (Node-API addon, loaded by server/src/webrtc/native-srtp.ts).
 *
 * Why native: forwarding a packet to a viewer from JavaScript costs ~20 µs of CPU, of which
 * the cipher object Node builds per packet (createCipheriv: a new OpenSSL context and key
 * schedule for every IV) is ~7 µs, dgram's send path (lookup, nextTick, a SendWrap per
 * packet) several more, and the garbage of all that ~3 µs. Here the key schedule is made
 * once per SRTP session, the packet is built in a ring slot that doubles as the NACK history,
 * and it leaves on the viewer's own socket (a dup of the fd of werift's dgram socket, so the
 * ICE 5-tuple is unchanged and a socket closed by Node meanwhile cannot be confused with a
 * new one under the same number). Nothing is allocated per packet.
 *
 * Sending is batched: flush() hands what one event-loop turn queued to a sender thread, so
 * the kernel's share of forwarding (most of it with many viewers) runs on another core than
 * JavaScript; each run of equal-sized packets goes out as one UDP GSO write.
 *
 * OpenSSL is Node's own (its symbols are exported by the node binary; nothing is linked).
 *
 * Profiles (RFC 5764 numbering): 1 = AES_CM_128_HMAC_SHA1_80 (RFC 3711), 7 =
 * AEAD_AES_128_GCM (RFC 7714).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PROFILE_CM_SHA1_80 1
#define PROFILE_GCM 7
#define GCM_TAG 16
#define HMAC_TAG 10
#define RING 512
#define MAX_PACKET 65535
/* Sender reports are a few dozen octets; anything far beyond is not ours to send. */
#define MAX_RTCP 1200
/* A batch is sent as few UDP GSO writes (Linux ≥ 4.18): equal-sized datagrams, the last of a
 * run possibly shorter, at most 64 and 64 KiB per write. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define MAX_BATCH 64
#define MAX_GSO_BYTES 60000

/* What the last send tells JavaScript (a Uint32Array the caller owns). */
enum { INFO_SEQ, INFO_TS, INFO_MARKER, INFO_PAYLOAD, INFO_LENGTH, INFO_SIZE };

typedef struct {
  uint8_t *data;
  uint32_t cap;
  uint32_t len;
  int32_t seq; /* -1 when empty */
  int busy;    /* being written to the socket by send_slots (outside mu) */
} slot_t;

typedef struct {
  /* Guards the ring, the socket and `closed` between JavaScript and the sender thread, held
   * only briefly: the socket writes happen outside it, under io_mu (see send_slots). Lock
   * order: io_mu, then mu. */
  pthread_mutex_t mu;
  pthread_mutex_t io_mu;
  /* One for the JavaScript handle, one per job queued for the sender thread. */
  atomic_int refs;
  atomic_uint dropped;
  int fd; /* our dup of the viewer's socket, or -1 */
  int closed;
  int profile; /* 0 until configured */
  EVP_CIPHER_CTX *cipher;
  EVP_MAC_CTX *mac;
  uint8_t salt[14];
  /* SRTCP keys (configureRtcp), same profile; rtcp_cipher NULL until configured. */
  EVP_CIPHER_CTX *rtcp_cipher;
  EVP_MAC_CTX *rtcp_mac;
  uint8_t rtcp_salt[14];
  uint32_t ssrc;
  uint8_t payload_type;
  /* Output = source + offset (mod 2^16 / 2^32), fixed per source run. */
  uint16_t seq_offset;
  uint32_t ts_offset;
  uint16_t last_seq;
  uint32_t last_ts;
  uint32_t roc;
  int rebase_pending;
  int started;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  /* Ring slots built and waiting for flush(), in order; no_gso once the kernel refused GSO
   * (written by the sender thread under mu). */
  uint16_t pending[MAX_BATCH];
  int32_t pending_seq[MAX_BATCH];
  int npending;
  int no_gso;
  slot_t ring[RING];
  uint32_t *info;
  napi_ref info_ref;
} sender_t;

#define CHECK(call)                                                                        \
  do {                                                                                     \
    if ((call) != napi_ok) return NULL;                                                    \
  } while (0)

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value make_int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static void free_rtcp_crypto(sender_t *s) {
  if (s->rtcp_cipher) EVP_CIPHER_CTX_free(s->rtcp_cipher);
  if (s->rtcp_mac) EVP_MAC_CTX_free(s->rtcp_mac);
  s->rtcp_cipher = NULL;
  s->rtcp_mac = NULL;
}

static void free_crypto(sender_t *s) {
  if (s->cipher) EVP_CIPHER_CTX_free(s->cipher);
  if (s->mac) EVP_MAC_CTX_free(s->mac);
  s->cipher = NULL;
  s->mac = NULL;
  s->profile = 0;
  free_rtcp_crypto(s);
}

static void unref(sender_t *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  for (int i = 0; i < RING; i++) free(s->ring[i].data);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->io_mu);
  free(s);
}

/* What close() and garbage collection release at once; the memory goes with the last ref. */
static void release(napi_env env, sender_t *s) {
  /* io_mu: a write in flight finishes before its fd is closed. */
  pthread_mutex_lock(&s->io_mu);
  pthread_mutex_lock(&s->mu);
  int was_closed = s->closed;
  s->closed = 1;
  s->npending = 0;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->io_mu);
  if (was_closed) return;
  free_crypto(s);
  if (s->info_ref) napi_delete_reference(env, s->info_ref);
  s->info_ref = NULL;
  s->info = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  sender_t *s = data;
  release(env, s);
  unref(s);
}

static sender_t *unwrap(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) return NULL;
  sender_t *s = data;
  return s->closed ? NULL : s;
}

/* Exactly `n` arguments into argv, the first a live sender (else NULL). */
static sender_t *sender_args(napi_env env, napi_callback_info cb, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, cb, &argc, argv, NULL, NULL) != napi_ok || argc != n) return NULL;
  return unwrap(env, argv[0]);
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

/* create(initialSequence, initialTimestamp, info: Uint32Array(5)) -> handle */
static napi_value create(napi_env env, napi_callback_info cb) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  uint32_t seq, ts;
  bool is_typed;
  if (argc < 3 || !get_u32(env, argv[0], &seq) || !get_u32(env, argv[1], &ts) ||
      napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed)
    return throw_error(env, "create(sequence, timestamp, info)");
  napi_typedarray_type type;
  size_t length;
  void *info;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &length, &info, NULL, NULL));
  if (type != napi_uint32_array || length < INFO_SIZE) return throw_error(env, "info must be a Uint32Array(5)");
  sender_t *s = calloc(1, sizeof(sender_t));
  if (!s) return throw_error(env, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->io_mu, NULL);
  atomic_init(&s->refs, 1);
  atomic_init(&s->dropped, 0);
  s->fd = -1;
  s->last_seq = (uint16_t)(seq - 1);
  s->last_ts = ts;
  s->rebase_pending = 1;
  s->info = info;
  for (int i = 0; i < RING; i++) s->ring[i].seq = -1;
  napi_value handle;
  if (napi_create_reference(env, argv[2], 1, &s->info_ref) != napi_ok ||
      napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) {
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->io_mu);
    free(s);
    return throw_error(env, "cannot create sender");
  }
  return handle;
}

/* An AES key schedule (GCM or CTR by profile) and, for AES-CM, the HMAC-SHA1 key; 0 if
 * OpenSSL refuses them. */
static int make_keys(int profile, const uint8_t *key, const uint8_t *auth, size_t auth_len, EVP_CIPHER_CTX **cipher, EVP_MAC_CTX **mac) {
  *cipher = EVP_CIPHER_CTX_new();
  if (!*cipher || EVP_EncryptInit_ex(*cipher, profile == PROFILE_GCM ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), NULL, key, NULL) != 1) return 0;
  if (profile == PROFILE_GCM) return 1;
  EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!hmac) return 0;
  *mac = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0), OSSL_PARAM_construct_end()};
  return *mac && EVP_MAC_init(*mac, auth, auth_len, params) == 1;
}

/* Whether key, salt and auth key fit the profile (GCM: 16-byte key, 12-byte salt; AES-CM:
 * 16-byte key, 14-byte salt, an HMAC key). */
static int keys_fit(uint32_t profile, size_t key_len, size_t salt_len, const uint8_t *auth, size_t auth_len) {
  if (profile == PROFILE_GCM) return key_len == 16 && salt_len >= 12;
  return profile == PROFILE_CM_SHA1_80 && key_len == 16 && salt_len == 14 && auth && auth_len > 0;
}

/* The key arguments at argv[first..first+2]: key, salt, authKey | null. */
static int key_args(napi_env env, napi_value *argv, uint8_t **key, size_t *key_len, uint8_t **salt, size_t *salt_len, uint8_t **auth, size_t *auth_len) {
  napi_valuetype auth_type;
  *auth = NULL;
  *auth_len = 0;
  if (!get_buffer(env, argv[0], key, key_len) || !get_buffer(env, argv[1], salt, salt_len) || napi_typeof(env, argv[2], &auth_type) != napi_ok) return 0;
  return auth_type == napi_null || get_buffer(env, argv[2], auth, auth_len);
}

/* configure(handle, profile, key, salt, authKey | null, ssrc, payloadType) -> boolean */
static napi_value configure(napi_env env, napi_callback_info cb) {
  napi_value argv[7], result;
  sender_t *s = sender_args(env, cb, 7, argv);
  uint32_t profile, ssrc, pt;
  uint8_t *key, *salt, *auth;
  size_t key_len, salt_len, auth_len;
  if (!s || !get_u32(env, argv[1], &profile) || !key_args(env, argv + 2, &key, &key_len, &salt, &salt_len, &auth, &auth_len) ||
      !get_u32(env, argv[5], &ssrc) || !get_u32(env, argv[6], &pt))
    return throw_error(env, "configure(handle, profile, key, salt, authKey, ssrc, payloadType)");
  free_crypto(s);
  if (!keys_fit(profile, key_len, salt_len, auth, auth_len)) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  if (!make_keys((int)profile, key, auth, auth_len, &s->cipher, &s->mac)) {
    free_crypto(s);
    return throw_error(env, "OpenSSL refused the SRTP key");
  }
  memcpy(s->salt, salt, profile == PROFILE_GCM ? 12 : 14);
  s->profile = (int)profile;
  s->ssrc = ssrc;
  s->payload_type = (uint8_t)(pt & 0x7f);
  napi_get_boolean(env, true, &result);
  return result;
}

/* configureRtcp(handle, key, salt, authKey | null) -> boolean: the SRTCP session keys, for
 * the profile configure() set (false: none set, or keys that do not fit it). */
static napi_value configure_rtcp(napi_env env, napi_callback_info cb) {
  napi_value argv[4], result;
  sender_t *s = sender_args(env, cb, 4, argv);
  uint8_t *key, *salt, *auth;
  size_t key_len, salt_len, auth_len;
  if (!s || !key_args(env, argv + 1, &key, &key_len, &salt, &salt_len, &auth, &auth_len))
    return throw_error(env, "configureRtcp(handle, key, salt, authKey)");
  free_rtcp_crypto(s);
  if (!s->profile || !keys_fit((uint32_t)s->profile, key_len, salt_len, auth, auth_len)) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  if (!make_keys(s->profile, key, auth, auth_len, &s->rtcp_cipher, &s->rtcp_mac)) {
    free_rtcp_crypto(s);
    return throw_error(env, "OpenSSL refused the SRTCP key");
  }
  memcpy(s->rtcp_salt, salt, s->profile == PROFILE_GCM ? 12 : 14);
  napi_get_boolean(env, true, &result);
  return result;
}

/* setPeer(handle, address, port) -> boolean (false: not an IP address) */
static napi_value set_peer(napi_env env, napi_callback_info cb) {
  napi_value argv[3];
  sender_t *s = sender_args(env, cb, 3, argv);
  char host[64];
  size_t host_len;
  uint32_t port;
  if (!s || napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_len) != napi_ok || !get_u32(env, argv[2], &port) || port > 65535)
    return throw_error(env, "setPeer(handle, address, port)");
  napi_value result;
  struct sockaddr_storage peer;
  socklen_t peer_len = 0;
  memset(&peer, 0, sizeof peer);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&peer;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&peer;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    peer_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    peer_len = sizeof *v6;
  }
  pthread_mutex_lock(&s->mu);
  s->peer = peer;
  s->peer_len = peer_len;
  pthread_mutex_unlock(&s->mu);
  napi_get_boolean(env, peer_len != 0, &result);
  return result;
}

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Encrypts out[hdr, hdr + payload) in place and appends the tag; returns the tag length, or -1. */
static int protect(sender_t *s, uint8_t *out, int hdr, int payload, uint16_t seq) {
  int n;
  if (s->profile == PROFILE_GCM) {
    /* RFC 7714 §8.1: (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt. */
    uint8_t iv[12] = {0};
    put32(iv + 2, s->ssrc);
    put32(iv + 6, s->roc);
    put16(iv + 10, seq);
    for (int i = 0; i < 12; i++) iv[i] ^= s->salt[i];
    if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->cipher, NULL, &n, out, hdr) != 1 ||
        EVP_EncryptUpdate(s->cipher, out + hdr, &n, out + hdr, payload) != 1 || EVP_EncryptFinal_ex(s->cipher, out + hdr + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + hdr + payload) != 1)
      return -1;
    return GCM_TAG;
  }
  /* RFC 3711 §4.1.1: (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16). */
  uint8_t iv[16] = {0};
  put32(iv + 4, s->ssrc);
  put32(iv + 8, s->roc);
  put16(iv + 12, seq);
  for (int i = 0; i < 14; i++) iv[i] ^= s->salt[i];
  uint8_t roc[4], mac[EVP_MAX_MD_SIZE];
  size_t mac_len;
  put32(roc, s->roc);
  if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->cipher, out + hdr, &n, out + hdr, payload) != 1 ||
      EVP_MAC_init(s->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(s->mac, out, (size_t)(hdr + payload)) != 1 ||
      EVP_MAC_update(s->mac, roc, 4) != 1 || EVP_MAC_final(s->mac, mac, &mac_len, sizeof mac) != 1 || mac_len < HMAC_TAG)
    return -1;
  memcpy(out + hdr + payload, mac, HMAC_TAG);
  return HMAC_TAG;
}

/* 1: sent; 0: no socket, would block or refused for now. Called with s->mu held. */
static int transmit(sender_t *s, const uint8_t *pkt, uint32_t len) {
  if (s->fd < 0) return 0;
  ssize_t sent;
  do sent = sendto(s->fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&s->peer, s->peer_len);
  while (sent < 0 && errno == EINTR);
  return sent == (ssize_t)len;
}

/*
 * Sends ring slots (those still holding the sequence numbers given) on the sender's socket,
 * each run of equal sizes in one write: the kernel cuts it into datagrams, so the stack is
 * crossed once and the receiver woken once instead of per packet. Counts what could not be
 * sent (socket buffer full: NACKs repair it) in s->dropped.
 *
 * The writes happen under io_mu with mu released, so that JavaScript building the next
 * packets is not held up by the kernel: the slots written are marked busy, and a packet that
 * would overwrite a busy slot (the ring wrapped onto it) waits for io_mu first.
 */
static void send_slots(sender_t *s, const uint16_t *slots, const int32_t *seqs, int count) {
  uint16_t live[MAX_BATCH];
  int n_live = 0;
  pthread_mutex_lock(&s->io_mu);
  pthread_mutex_lock(&s->mu);
  if (!s->closed)
    for (int k = 0; k < count; k++)
      if (s->ring[slots[k]].seq == seqs[k]) {
        s->ring[slots[k]].busy = 1;
        live[n_live++] = slots[k];
      }
  /* The fd stays open while io_mu is held (set_socket and release take it to close it). */
  int fd = s->fd, no_gso = s->no_gso;
  struct sockaddr_storage peer = s->peer;
  socklen_t peer_len = s->peer_len;
  pthread_mutex_unlock(&s->mu);
  unsigned refused = 0;
  int i = 0;
  while (i < n_live) {
    uint32_t seg = s->ring[live[i]].len;
    size_t total = seg;
    int j = i + 1;
    while (!no_gso && j < n_live) {
      uint32_t len = s->ring[live[j]].len;
      if (len > seg || total + len > MAX_GSO_BYTES) break;
      total += len;
      j++;
      if (len < seg) break;
    }
    int n = j - i;
    struct iovec iov[MAX_BATCH];
    for (int k = 0; k < n; k++) {
      iov[k].iov_base = s->ring[live[i + k]].data;
      iov[k].iov_len = s->ring[live[i + k]].len;
    }
    union {
      char buf[CMSG_SPACE(sizeof(uint16_t))];
      struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_name = &peer, .msg_namelen = peer_len, .msg_iov = iov, .msg_iovlen = (size_t)n};
    if (n > 1) {
      memset(&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = (uint16_t)seg;
      memcpy(CMSG_DATA(cm), &size, sizeof size);
    }
    ssize_t sent = -1;
    if (fd >= 0) {
      do sent = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (sent < 0 && errno == EINTR);
    }
    if (sent < 0 && n > 1 && errno != EAGAIN && errno != ENOBUFS && errno != EBADF) {
      /* No GSO here (old kernel, a device without checksum offload, a path MTU below the
       * segment): this run and all later ones go one datagram per write. */
      no_gso = 1;
      continue;
    }
    if (sent < 0) refused += (unsigned)n;
    i = j;
  }
  if (refused) atomic_fetch_add(&s->dropped, refused);
  pthread_mutex_lock(&s->mu);
  for (int k = 0; k < n_live; k++) s->ring[live[k]].busy = 0;
  s->no_gso |= no_gso;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->io_mu);
}

/* ---- The sender thread: runs the flushes JavaScript queued, in order. */

typedef struct job {
  struct job *next;
  sender_t *s;
  int count;
  uint16_t slots[MAX_BATCH];
  int32_t seqs[MAX_BATCH];
} job_t;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *head, *tail;
  int started;
} worker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0};

static atomic_int threaded = 1;

static void run_job(job_t *job) {
  send_slots(job->s, job->slots, job->seqs, job->count);
  unref(job->s);
  free(job);
}

static void *worker_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&worker.mu);
  for (;;) {
    while (!worker.head) pthread_cond_wait(&worker.cv, &worker.mu);
    job_t *jobs = worker.head;
    worker.head = worker.tail = NULL;
    pthread_mutex_unlock(&worker.mu);
    while (jobs) {
      job_t *job = jobs;
      jobs = job->next;
      run_job(job);
    }
    pthread_mutex_lock(&worker.mu);
  }
  return NULL;
}

/* Starts the thread once per process, with every signal blocked (Node's handlers run on its
 * own threads). Called with worker.mu held; false when it cannot be started. */
static int worker_start(void) {
  if (worker.started) return 1;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int ok = pthread_create(&thread, NULL, worker_main, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!ok) return 0;
  pthread_detach(thread);
  worker.started = 1;
  return 1;
}

/* The sender's pending packets as a job (holding a reference), or NULL when none. */
static job_t *take_job(sender_t *s) {
  if (s->npending == 0) return NULL;
  job_t *job = malloc(sizeof(job_t));
  if (!job) {
    /* Sent here and now rather than lost. */
    send_slots(s, s->pending, s->pending_seq, s->npending);
    s->npending = 0;
    return NULL;
  }
  job->next = NULL;
  job->s = s;
  job->count = s->npending;
  memcpy(job->slots, s->pending, sizeof(uint16_t) * (size_t)s->npending);
  memcpy(job->seqs, s->pending_seq, sizeof(int32_t) * (size_t)s->npending);
  atomic_fetch_add(&s->refs, 1);
  s->npending = 0;
  return job;
}

/* Runs a chain of jobs: on the sender thread when threaded (one lock and one wake-up for the
 * whole chain), else here. */
static void dispatch(job_t *first, job_t *last) {
  if (!first) return;
  if (atomic_load(&threaded)) {
    pthread_mutex_lock(&worker.mu);
    if (worker_start()) {
      if (worker.tail) worker.tail->next = first;
      else worker.head = first;
      worker.tail = last;
      pthread_cond_signal(&worker.cv);
      pthread_mutex_unlock(&worker.mu);
      return;
    }
    pthread_mutex_unlock(&worker.mu);
  }
  while (first) {
    job_t *job = first;
    first = job->next;
    run_job(job);
  }
}

static void flush_pending(sender_t *s) {
  job_t *job = take_job(s);
  dispatch(job, job);
}

/*
 * send(handle, source, playoutDelayId) -> bytes queued for flush() (> 0), 0 without a socket
 * or peer address (built and kept; `packet()` gives a copy to send another way), -1 for a packet that is not
 * RTP, -2 when not configured. A full queue is flushed first. Fills info with the output
 * sequence, timestamp, marker, payload length and packet length.
 */
static napi_value send_packet(napi_env env, napi_callback_info cb) {
  napi_value argv[3];
  sender_t *s = sender_args(env, cb, 3, argv);
  int32_t delay_id;
  uint8_t *src;
  size_t src_len;
  if (!s || !get_buffer(env, argv[1], &src, &src_len) || napi_get_value_int32(env, argv[2], &delay_id) != napi_ok)
    return throw_error(env, "send(handle, source, playoutDelayId)");
  if (!s->profile) return make_int(env, -2);

  /* The source header (RFC 3550 §5.1): CSRCs and an extension are skipped, padding dropped. */
  if (src_len < 12 || (src[0] >> 6) != 2) return make_int(env, -1);
  size_t off = 12 + 4 * (size_t)(src[0] & 0x0f);
  if (src[0] & 0x10) {
    if (off + 4 > src_len) return make_int(env, -1);
    off += 4 + 4 * (size_t)((src[off + 2] << 8) | src[off + 3]);
  }
  size_t end = src_len;
  if (src[0] & 0x20) {
    if (src_len == 0 || src[src_len - 1] == 0 || src[src_len - 1] > src_len) return make_int(env, -1);
    end -= src[src_len - 1];
  }
  if (off > end) return make_int(env, -1);
  int marker = src[1] >> 7;
  uint16_t src_seq = (uint16_t)((src[2] << 8) | src[3]);
  uint32_t src_ts = get32(src + 4);

  if (s->rebase_pending) {
    s->seq_offset = (uint16_t)(s->last_seq + 1 - src_seq);
    s->ts_offset = s->last_ts + 1 - src_ts;
    s->rebase_pending = 0;
  }
  uint16_t seq = (uint16_t)(src_seq + s->seq_offset);
  uint32_t ts = src_ts + s->ts_offset;
  /* Rollover counter (RFC 3711 §3.3.1): counts wraps of the sequence we send, from 0. */
  if (s->started && seq < s->last_seq && s->last_seq - seq > 0x8000) s->roc++;
  if ((uint16_t)(seq - s->last_seq) < 0x8000) {
    s->last_seq = seq;
    s->last_ts = ts;
  }
  s->started = 1;

  int ext = delay_id >= 1 && delay_id <= 14;
  int hdr = ext ? 20 : 12;
  size_t payload = end - off;
  size_t len = (size_t)hdr + payload + GCM_TAG;
  if (len > MAX_PACKET) return make_int(env, -1);
  if (s->npending == MAX_BATCH) flush_pending(s);
  pthread_mutex_lock(&s->mu);
  slot_t *slot = &s->ring[seq % RING];
  if (slot->busy) {
    /* The ring wrapped onto a slot still being written: wait for that write. */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->io_mu);
    pthread_mutex_lock(&s->mu);
    pthread_mutex_unlock(&s->io_mu);
  }
  if (slot->cap < len) {
    uint32_t cap = (uint32_t)(len < 1536 ? 1536 : len);
    uint8_t *grown = realloc(slot->data, cap);
    if (!grown) {
      pthread_mutex_unlock(&s->mu);
      return throw_error(env, "out of memory");
    }
    slot->data = grown;
    slot->cap = cap;
  }
  uint8_t *out = slot->data;
  out[0] = ext ? 0x90 : 0x80;
  out[1] = (uint8_t)((marker << 7) | s->payload_type);
  put16(out + 2, seq);
  put32(out + 4, ts);
  put32(out + 8, s->ssrc);
  if (ext) {
    /* One-byte extension block (RFC 8285) with only playout delay min = max = 0. */
    put32(out + 12, 0xbede0001);
    out[16] = (uint8_t)((delay_id << 4) | 2);
    out[17] = out[18] = out[19] = 0;
  }
  memcpy(out + hdr, src + off, payload);
  int tag = protect(s, out, hdr, (int)payload, seq);
  slot->seq = tag < 0 ? -1 : seq;
  if (tag >= 0) slot->len = (uint32_t)(hdr + payload + (size_t)tag);
  /* Without a socket or an IP address to send to, the caller sends a copy its own way. */
  int queue = tag >= 0 && s->fd >= 0 && s->peer_len;
  pthread_mutex_unlock(&s->mu);
  if (tag < 0) return throw_error(env, "SRTP protection failed");

  s->info[INFO_SEQ] = seq;
  s->info[INFO_TS] = ts;
  s->info[INFO_MARKER] = (uint32_t)marker;
  s->info[INFO_PAYLOAD] = (uint32_t)payload;
  s->info[INFO_LENGTH] = slot->len;
  if (!queue) return make_int(env, 0);
  s->pending[s->npending] = seq % RING;
  s->pending_seq[s->npending++] = seq;
  return make_int(env, (int32_t)slot->len);
}

/* flush(handle) -> packets refused by the socket so far (its buffer full). */
static napi_value flush(napi_env env, napi_callback_info cb) {
  napi_value argv[1];
  sender_t *s = sender_args(env, cb, 1, argv);
  if (!s) return throw_error(env, "flush(handle)");
  flush_pending(s);
  return make_int(env, (int32_t)atomic_load(&s->dropped));
}

/* flushAll(handles[]): flush() of each, handed to the sender thread as one batch. */
static napi_value flush_all(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  bool is_array;
  uint32_t length;
  if (argc != 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &length) != napi_ok)
    return throw_error(env, "flushAll(handles)");
  job_t *first = NULL, *last = NULL;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok) continue;
    sender_t *s = unwrap(env, item);
    job_t *job = s ? take_job(s) : NULL;
    if (!job) continue;
    if (last) last->next = job;
    else first = job;
    last = job;
  }
  dispatch(first, last);
  return NULL;
}

/* dropped(handle) -> packets refused by the socket so far (its buffer full). */
static napi_value dropped(napi_env env, napi_callback_info cb) {
  napi_value argv[1];
  sender_t *s = sender_args(env, cb, 1, argv);
  if (!s) return throw_error(env, "dropped(handle)");
  return make_int(env, (int32_t)atomic_load(&s->dropped));
}

/* setSocket(handle, fd | -1) -> boolean: sends from now on go out on a dup of fd (none: -1). */
static napi_value set_socket(napi_env env, napi_callback_info cb) {
  napi_value argv[2], result;
  sender_t *s = sender_args(env, cb, 2, argv);
  int32_t fd;
  if (!s || napi_get_value_int32(env, argv[1], &fd) != napi_ok) return throw_error(env, "setSocket(handle, fd)");
  /* Packets queued for the old socket go with it (the pair they were meant for is gone). */
  flush_pending(s);
  int copy = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
  pthread_mutex_lock(&s->io_mu);
  pthread_mutex_lock(&s->mu);
  if (s->fd >= 0) close(s->fd);
  s->fd = copy;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->io_mu);
  napi_get_boolean(env, fd < 0 || copy >= 0, &result);
  return result;
}

/* threaded(on): whether flushes run on the sender thread (default) or in the caller. */
static napi_value set_threaded(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  bool on;
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return throw_error(env, "threaded(boolean)");
  atomic_store(&threaded, on ? 1 : 0);
  return NULL;
}

/* resend(handle, seq) -> bytes sent, 0 when not sent now (no socket), -1 when no longer held. */
static napi_value resend(napi_env env, napi_callback_info cb) {
  napi_value argv[2];
  sender_t *s = sender_args(env, cb, 2, argv);
  uint32_t seq;
  if (!s || !get_u32(env, argv[1], &seq)) return throw_error(env, "resend(handle, seq)");
  pthread_mutex_lock(&s->mu);
  slot_t *slot = &s->ring[seq % RING];
  int32_t result = -1;
  if (slot->seq == (int32_t)(seq & 0xffff) && s->peer_len) result = transmit(s, slot->data, slot->len) ? (int32_t)slot->len : 0;
  pthread_mutex_unlock(&s->mu);
  return make_int(env, result);
}

/* Protects a compound RTCP packet (len ≥ 8) as SRTCP with `index` into out (room for len +
 * 20); returns the protected length, or -1. */
static int protect_rtcp(sender_t *s, const uint8_t *rtcp, int len, uint32_t index, uint8_t *out) {
  int n;
  uint8_t e_index[4];
  /* E flag: the packet is encrypted (RFC 3711 §3.4). */
  put32(e_index, index | 0x80000000u);
  memcpy(out, rtcp, 8);
  if (s->profile == PROFILE_GCM) {
    /* RFC 7714 §9.1: (0x0000 ‖ SSRC ‖ 0x0000 ‖ 0 ‖ SRTCP index) XOR salt; the AAD is the
     * first 8 octets and E ‖ index, which trails the tag (§9.2). */
    uint8_t iv[12] = {0};
    memcpy(iv + 2, rtcp + 4, 4);
    put32(iv + 8, index);
    for (int i = 0; i < 12; i++) iv[i] ^= s->rtcp_salt[i];
    if (EVP_EncryptInit_ex(s->rtcp_cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->rtcp_cipher, NULL, &n, rtcp, 8) != 1 ||
        EVP_EncryptUpdate(s->rtcp_cipher, NULL, &n, e_index, 4) != 1 || EVP_EncryptUpdate(s->rtcp_cipher, out + 8, &n, rtcp + 8, len - 8) != 1 ||
        EVP_EncryptFinal_ex(s->rtcp_cipher, out + len, &n) != 1 || EVP_CIPHER_CTX_ctrl(s->rtcp_cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + len) != 1)
      return -1;
    memcpy(out + len + GCM_TAG, e_index, 4);
    return len + GCM_TAG + 4;
  }
  /* RFC 3711 §4.1.1 with the SRTCP index in place of the packet index; the tag covers the
   * packet and E ‖ index (§3.4). */
  uint8_t iv[16] = {0}, mac[EVP_MAX_MD_SIZE];
  size_t mac_len;
  memcpy(iv + 4, rtcp + 4, 4);
  put32(iv + 10, index);
  for (int i = 0; i < 14; i++) iv[i] ^= s->rtcp_salt[i];
  memcpy(out + len, e_index, 4);
  if (EVP_EncryptInit_ex(s->rtcp_cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->rtcp_cipher, out + 8, &n, rtcp + 8, len - 8) != 1 ||
      EVP_MAC_init(s->rtcp_mac, NULL, 0, NULL) != 1 || EVP_MAC_update(s->rtcp_mac, out, (size_t)len + 4) != 1 ||
      EVP_MAC_final(s->rtcp_mac, mac, &mac_len, sizeof mac) != 1 || mac_len < HMAC_TAG)
    return -1;
  memcpy(out + len + 4, mac, HMAC_TAG);
  return len + 4 + HMAC_TAG;
}

/*
 * sendRtcp(handle, rtcp, index) -> bytes of the SRTCP packet (protected with `index`, 31 bits)
 * sent now, or 0 when it was not: no socket or peer address, or the socket buffer full. The
 * caller then protects and sends it its own way. Throws without SRTCP keys or for input
 * that is not a compound RTCP packet of at most 1200 octets.
 */
static napi_value send_rtcp(napi_env env, napi_callback_info cb) {
  napi_value argv[3];
  sender_t *s = sender_args(env, cb, 3, argv);
  uint8_t *rtcp;
  size_t len;
  uint32_t index;
  if (!s || !get_buffer(env, argv[1], &rtcp, &len) || !get_u32(env, argv[2], &index) || index > 0x7fffffffu)
    return throw_error(env, "sendRtcp(handle, rtcp, index)");
  if (!s->rtcp_cipher) return throw_error(env, "sendRtcp: no SRTCP keys (configureRtcp)");
  if (len < 8 || len > MAX_RTCP || (rtcp[0] >> 6) != 2 || rtcp[1] < 192 || rtcp[1] > 223) return throw_error(env, "sendRtcp: not an RTCP packet");
  uint8_t out[MAX_RTCP + GCM_TAG + 4];
  int n = protect_rtcp(s, rtcp, (int)len, index, out);
  if (n < 0) return throw_error(env, "SRTCP protection failed");
  pthread_mutex_lock(&s->mu);
  int sent = s->peer_len && transmit(s, out, (uint32_t)n);
  pthread_mutex_unlock(&s->mu);
  return make_int(env, sent ? n : 0);
}

/* packet(handle, seq) -> a copy of the protected packet, or null. */
static napi_value packet(napi_env env, napi_callback_info cb) {
  napi_value argv[2], result;
  sender_t *s = sender_args(env, cb, 2, argv);
  uint32_t seq;
  if (!s || !get_u32(env, argv[1], &seq)) return throw_error(env, "packet(handle, seq)");
  pthread_mutex_lock(&s->mu);
  slot_t *slot = &s->ring[seq % RING];
  napi_status status = slot->seq == (int32_t)(seq & 0xffff) ? napi_create_buffer_copy(env, slot->len, slot->data, NULL, &result) : napi_get_null(env, &result);
  pthread_mutex_unlock(&s->mu);
  CHECK(status);
  return result;
}

/* rebase(handle): the next packet continues the output sequence and timestamp. */
static napi_value rebase(napi_env env, napi_callback_info cb) {
  napi_value argv[1];
  sender_t *s = sender_args(env, cb, 1, argv);
  if (s) s->rebase_pending = 1;
  return NULL;
}

/* close(handle): frees the keys and the history now rather than at garbage collection. */
static napi_value close_sender(napi_env env, napi_callback_info cb) {
  napi_value argv[1];
  sender_t *s = sender_args(env, cb, 1, argv);
  if (s) release(env, s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, configure, NULL, NULL, NULL, napi_default, NULL},
      {"configureRtcp", NULL, configure_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"sendRtcp", NULL, send_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"setPeer", NULL, set_peer, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, send_packet, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_default, NULL},
      {"flushAll", NULL, flush_all, NULL, NULL, NULL, napi_default, NULL},
      {"dropped", NULL, dropped, NULL, NULL, NULL, napi_default, NULL},
      {"setSocket", NULL, set_socket, NULL, NULL, NULL, napi_default, NULL},
      {"threaded", NULL, set_threaded, NULL, NULL, NULL, napi_default, NULL},
      {"resend", NULL, resend, NULL, NULL, NULL, napi_default, NULL},
      {"packet", NULL, packet, NULL, NULL, NULL, napi_default, NULL},
      {"rebase", NULL, rebase, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_sender, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
