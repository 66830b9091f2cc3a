/*
 * nekodamagesrc: a GStreamer source that grabs the X screen when it changes (X DAMAGE), at
 * most at the negotiated frame rate. ximagesrc grabs on a fixed clock instead, so a change
 * waits half a frame period on average for the next tick, and a still screen is grabbed and
 * encoded 30 times a second.
 *
 * - A change that follows a key or button press (XInput2 raw events: the controlling viewer's
 *   input, injected with XTest) is grabbed as soon as it is drawn, a quarter period after the
 *   previous grab at the earliest, so typing over moving content is not held back by the
 *   motion's own cadence.
 * - `always=true` grabs every frame period regardless (the clock-driven behaviour).
 * - A change of the root window property _NEKO_CAPTURE_WAKE asks for a grab: a new encoder
 *   needs a first picture of a still screen.
 * - No server grab (XGrabServer) is held: one XShmGetImage request is atomic in the X server.
 */
#define _GNU_SOURCE
/* GST_PLUGIN_DEFINE names the package. */
#define PACKAGE "neko-ts"
#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/XInput2.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#define GST_TYPE_NEKO_DAMAGE_SRC (gst_neko_damage_src_get_type())
G_DECLARE_FINAL_TYPE(GstNekoDamageSrc, gst_neko_damage_src, GST, NEKO_DAMAGE_SRC, GstPushSrc)

struct _GstNekoDamageSrc {
  GstPushSrc parent;
  gchar *display_name;
  gboolean always;
  Display *dpy;
  Window root;
  int width, height;
  XImage *image;
  XShmSegmentInfo shm;
  Damage damage;
  int damage_event;
  int xi_opcode;
  Atom wake_atom;
  int wake_pipe[2];
  GstClockTime period;
  gboolean pending;
  /* A key or button press not yet answered by a grab of what it changed, and when. */
  gboolean input;
  GstClockTime input_at;
  /* The screen changed after that press. */
  gboolean input_damage;
  /* The press's fallback grab (see next_grab) was taken. */
  gboolean input_fallback;
  GstClockTime last_grab;
  gboolean grabbed_once;
};

enum { PROP_0, PROP_DISPLAY_NAME, PROP_ALWAYS };

/* Time a client takes to draw what a press changes, for the fallback grab (next_grab). */
#define INPUT_SETTLE (3 * GST_MSECOND)
/* A press whose change never came is forgotten after this. */
#define INPUT_EXPIRY (100 * GST_MSECOND)

G_DEFINE_TYPE(GstNekoDamageSrc, gst_neko_damage_src, GST_TYPE_PUSH_SRC)

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format=BGRx, width=" GST_VIDEO_SIZE_RANGE ", height=" GST_VIDEO_SIZE_RANGE
                    ", framerate=" GST_VIDEO_FPS_RANGE ", pixel-aspect-ratio=1/1"));

static GstClockTime now_ns(void) {
  return g_get_monotonic_time() * GST_USECOND;
}

static void release_x(GstNekoDamageSrc *self) {
  if (!self->dpy) return;
  if (self->image) {
    XShmDetach(self->dpy, &self->shm);
    XSync(self->dpy, False);
    shmdt(self->shm.shmaddr);
    self->image->data = NULL;
    XDestroyImage(self->image);
    self->image = NULL;
  }
  if (self->damage) XDamageDestroy(self->dpy, self->damage);
  self->damage = 0;
  XCloseDisplay(self->dpy);
  self->dpy = NULL;
}

/*
 * Xlib's default handler exits the process on any X error. An error here (a request racing a
 * screen mode change, say) is reported on stderr instead; a grab that fails still ends the
 * stream with an element error, and the server restarts the capture.
 */
static int report_x_error(Display *dpy, XErrorEvent *ev) {
  char text[128];
  XGetErrorText(dpy, ev->error_code, text, sizeof text);
  g_printerr("nekodamagesrc: X error %s (request %d.%d, resource 0x%lx)\n", text, ev->request_code, ev->minor_code, ev->resourceid);
  return 0;
}

static gboolean gst_neko_damage_src_start(GstBaseSrc *bsrc) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(bsrc);
  int err_base, xi_event, xi_error, major = 2, minor = 2;
  XSetErrorHandler(report_x_error);
  self->dpy = XOpenDisplay(self->display_name);
  if (!self->dpy) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("cannot open display %s", self->display_name ? self->display_name : "(DISPLAY)"), (NULL));
    return FALSE;
  }
  int screen = DefaultScreen(self->dpy);
  Visual *visual = DefaultVisual(self->dpy, screen);
  self->root = RootWindow(self->dpy, screen);
  self->width = DisplayWidth(self->dpy, screen);
  self->height = DisplayHeight(self->dpy, screen);
  if (!XShmQueryExtension(self->dpy) || !XDamageQueryExtension(self->dpy, &self->damage_event, &err_base) ||
      DefaultDepth(self->dpy, screen) != 24 || visual->red_mask != 0xff0000 || visual->blue_mask != 0xff) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("X server without MIT-SHM or DAMAGE, or not a 24-bit BGRx screen"), (NULL));
    release_x(self);
    return FALSE;
  }
  self->image = XShmCreateImage(self->dpy, visual, 24, ZPixmap, NULL, &self->shm, self->width, self->height);
  if (!self->image || self->image->bits_per_pixel != 32) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("cannot create a 32-bit shared image"), (NULL));
    release_x(self);
    return FALSE;
  }
  self->shm.shmid = shmget(IPC_PRIVATE, (size_t)self->image->bytes_per_line * self->height, IPC_CREAT | 0600);
  self->shm.shmaddr = self->image->data = shmat(self->shm.shmid, NULL, 0);
  self->shm.readOnly = False;
  XShmAttach(self->dpy, &self->shm);
  XSync(self->dpy, False);
  /* Removed now, gone with the last detach: nothing is left behind by a killed process. */
  shmctl(self->shm.shmid, IPC_RMID, NULL);
  self->damage = XDamageCreate(self->dpy, self->root, XDamageReportNonEmpty);
  if (XQueryExtension(self->dpy, "XInputExtension", &self->xi_opcode, &xi_event, &xi_error) &&
      XIQueryVersion(self->dpy, &major, &minor) == Success) {
    unsigned char bits[XIMaskLen(XI_LASTEVENT)] = {0};
    XIEventMask mask = {XIAllMasterDevices, sizeof bits, bits};
    XISetMask(bits, XI_RawKeyPress);
    XISetMask(bits, XI_RawButtonPress);
    XISelectEvents(self->dpy, self->root, &mask, 1);
  } else {
    self->xi_opcode = -1;
  }
  self->wake_atom = XInternAtom(self->dpy, "_NEKO_CAPTURE_WAKE", False);
  XSelectInput(self->dpy, self->root, PropertyChangeMask);
  XSync(self->dpy, False);
  self->pending = TRUE;
  self->input = FALSE;
  self->input_damage = FALSE;
  self->input_fallback = FALSE;
  self->grabbed_once = FALSE;
  return TRUE;
}

static gboolean gst_neko_damage_src_stop(GstBaseSrc *bsrc) {
  release_x(GST_NEKO_DAMAGE_SRC(bsrc));
  return TRUE;
}

static GstCaps *gst_neko_damage_src_get_caps(GstBaseSrc *bsrc, GstCaps *filter) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(bsrc);
  GstCaps *caps;
  if (!self->dpy) return gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bsrc));
  caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRx", "width", G_TYPE_INT, self->width, "height",
                             G_TYPE_INT, self->height, "framerate", GST_TYPE_FRACTION_RANGE, 1, 1, G_MAXINT, 1,
                             "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = tmp;
  }
  return caps;
}

static GstCaps *gst_neko_damage_src_fixate(GstBaseSrc *bsrc, GstCaps *caps) {
  caps = gst_caps_make_writable(caps);
  GstStructure *s = gst_caps_get_structure(caps, 0);
  gst_structure_fixate_field_nearest_fraction(s, "framerate", 30, 1);
  return GST_BASE_SRC_CLASS(gst_neko_damage_src_parent_class)->fixate(bsrc, caps);
}

static gboolean gst_neko_damage_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(bsrc);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps) || info.fps_n <= 0) return FALSE;
  self->period = gst_util_uint64_scale(GST_SECOND, info.fps_d, info.fps_n);
  return TRUE;
}

static gboolean gst_neko_damage_src_unlock(GstBaseSrc *bsrc) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(bsrc);
  char c = 1;
  if (write(self->wake_pipe[1], &c, 1) < 0 && errno != EAGAIN) GST_WARNING_OBJECT(self, "wake pipe: %s", g_strerror(errno));
  return TRUE;
}

static gboolean gst_neko_damage_src_unlock_stop(GstBaseSrc *bsrc) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(bsrc);
  char buf[64];
  while (read(self->wake_pipe[0], buf, sizeof buf) > 0) {
  }
  return TRUE;
}

static void read_events(GstNekoDamageSrc *self) {
  while (XPending(self->dpy)) {
    XEvent ev;
    XNextEvent(self->dpy, &ev);
    if (ev.type == self->damage_event + XDamageNotify) {
      self->pending = TRUE;
      if (self->input) self->input_damage = TRUE;
    } else if (ev.type == PropertyNotify && ev.xproperty.atom == self->wake_atom) {
      self->pending = TRUE;
    } else if (ev.type == GenericEvent && ev.xcookie.extension == self->xi_opcode) {
      /* The change the press causes is grabbed at once (see next_grab). Emptying the damage
       * region makes that change notify even while other changes wait for the next grab
       * (those are remembered in `pending`). NonEmpty reporting sends one event per change
       * noticed instead of one per rectangle drawn. */
      self->input = TRUE;
      self->input_at = now_ns();
      self->input_damage = FALSE;
      self->input_fallback = FALSE;
      XDamageSubtract(self->dpy, self->damage, None, None);
    }
  }
}

/*
 * Earliest time of the next grab, or GST_CLOCK_TIME_NONE while nothing changed. After a press:
 * - its change, once notified, a quarter period after the last grab at the earliest;
 * - a client that draws before the X server handles our XDamageSubtract leaves no notify (its
 *   change is emptied with the rest): with other changes pending, one grab INPUT_SETTLE after
 *   the press takes it. A slower client's change still notifies later and is taken then.
 */
static GstClockTime next_grab(GstNekoDamageSrc *self) {
  if (!self->grabbed_once) return 0;
  if (!self->pending && !self->always) return GST_CLOCK_TIME_NONE;
  GstClockTime soonest = self->last_grab + self->period / 4;
  if (self->input && self->input_damage) return soonest;
  if (self->input && !self->input_fallback && self->pending) return MAX(soonest, self->input_at + INPUT_SETTLE);
  return self->last_grab + self->period;
}

static GstFlowReturn gst_neko_damage_src_create(GstPushSrc *psrc, GstBuffer **out) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(psrc);
  for (;;) {
    read_events(self);
    GstClockTime at = next_grab(self), now = now_ns();
    if (at != GST_CLOCK_TIME_NONE && now >= at) break;
    int timeout = at == GST_CLOCK_TIME_NONE ? -1 : (int)((at - now + GST_MSECOND - 1) / GST_MSECOND);
    struct pollfd fds[2] = {{ConnectionNumber(self->dpy), POLLIN, 0}, {self->wake_pipe[0], POLLIN, 0}};
    XFlush(self->dpy);
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
      GST_ELEMENT_ERROR(self, RESOURCE, READ, ("poll failed: %s", g_strerror(errno)), (NULL));
      return GST_FLOW_ERROR;
    }
    if (fds[1].revents & POLLIN) return GST_FLOW_FLUSHING;
  }
  /* Changes after this point notify again, so none is lost between two grabs. */
  XDamageSubtract(self->dpy, self->damage, None, None);
  if (!XShmGetImage(self->dpy, self->root, self->image, 0, 0, AllPlanes)) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("XShmGetImage failed"), (NULL));
    return GST_FLOW_ERROR;
  }
  self->last_grab = now_ns();
  self->grabbed_once = TRUE;
  self->pending = FALSE;
  if (self->input_damage || self->last_grab - self->input_at > INPUT_EXPIRY) self->input = FALSE;
  else self->input_fallback = TRUE;
  self->input_damage = FALSE;
  gsize size = (gsize)self->image->bytes_per_line * self->height;
  GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);
  gst_buffer_fill(buf, 0, self->image->data, size);
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (clock) {
    GstClockTime t = gst_clock_get_time(clock), base = gst_element_get_base_time(GST_ELEMENT(self));
    GST_BUFFER_PTS(buf) = t > base ? t - base : 0;
    gst_object_unref(clock);
  }
  *out = buf;
  return GST_FLOW_OK;
}

static void gst_neko_damage_src_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(object);
  if (id == PROP_DISPLAY_NAME) {
    g_free(self->display_name);
    self->display_name = g_value_dup_string(value);
  } else if (id == PROP_ALWAYS) {
    self->always = g_value_get_boolean(value);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void gst_neko_damage_src_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(object);
  if (id == PROP_DISPLAY_NAME) g_value_set_string(value, self->display_name);
  else if (id == PROP_ALWAYS) g_value_set_boolean(value, self->always);
  else G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void gst_neko_damage_src_finalize(GObject *object) {
  GstNekoDamageSrc *self = GST_NEKO_DAMAGE_SRC(object);
  g_free(self->display_name);
  close(self->wake_pipe[0]);
  close(self->wake_pipe[1]);
  G_OBJECT_CLASS(gst_neko_damage_src_parent_class)->finalize(object);
}

static void gst_neko_damage_src_init(GstNekoDamageSrc *self) {
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  if (pipe2(self->wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) self->wake_pipe[0] = self->wake_pipe[1] = -1;
}

static void gst_neko_damage_src_class_init(GstNekoDamageSrcClass *klass) {
  GObjectClass *gobject = G_OBJECT_CLASS(klass);
  GstElementClass *element = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *basesrc = GST_BASE_SRC_CLASS(klass);
  gobject->set_property = gst_neko_damage_src_set_property;
  gobject->get_property = gst_neko_damage_src_get_property;
  gobject->finalize = gst_neko_damage_src_finalize;
  g_object_class_install_property(gobject, PROP_DISPLAY_NAME,
      g_param_spec_string("display-name", "Display", "X display to grab (default: DISPLAY)", NULL,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(gobject, PROP_ALWAYS,
      g_param_spec_boolean("always", "Always", "Grab every frame period, changed or not", FALSE,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  gst_element_class_set_static_metadata(element, "Damage-driven X screen source", "Source/Video",
      "Grabs the X screen when it changes", "neko-ts");
  gst_element_class_add_static_pad_template(element, &src_template);
  basesrc->start = gst_neko_damage_src_start;
  basesrc->stop = gst_neko_damage_src_stop;
  basesrc->get_caps = gst_neko_damage_src_get_caps;
  basesrc->fixate = gst_neko_damage_src_fixate;
  basesrc->set_caps = gst_neko_damage_src_set_caps;
  basesrc->unlock = gst_neko_damage_src_unlock;
  basesrc->unlock_stop = gst_neko_damage_src_unlock_stop;
  GST_PUSH_SRC_CLASS(klass)->create = gst_neko_damage_src_create;
}

static gboolean plugin_init(GstPlugin *plugin) {
  return gst_element_register(plugin, "nekodamagesrc", GST_RANK_NONE, GST_TYPE_NEKO_DAMAGE_SRC);
}

/* Versioned as the GStreamer it is built for (scripts/build-native.sh passes it):
 * `gst-inspect-1.0 --exists` wants at least that. */
#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "1.0.0"
#endif
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, nekodamagesrc, "Damage-driven X screen source", plugin_init,
                  PLUGIN_VERSION, "LGPL", "neko-ts", "https://github.com/neko-ts")
