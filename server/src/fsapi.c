/*
 * OpenList's fs routes as they answer with one Local storage at "/" and default settings
 * (server/handles/fsread.go and fsmanage.go at OpenList 0b1e9d09): the checks in the same order,
 * the same messages, the same JSON bytes. Every file access goes through storage.c, beneath the
 * root, and a path with a MOCK_TMP_PREFIX component names nothing for these routes.
 *
 * A listing's answer grows with the directory, so it is never put together whole: the sorted
 * names are read first (what sorting needs), and the JSON is rendered one entry at a time as
 * libmicrohttpd asks for it. An answer of at most 2048 bytes goes out with a Content-Length and a
 * longer one chunked, as Go's net/http frames what gin writes in one piece.
 */
#include "fsapi.h"
#include "apath.h"
#include "gostr.h"
#include "respond.h"
#include "sign.h"
#include "storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define JSON_TYPE "application/json; charset=utf-8"

/* Go's net/http holds this much of a handler's output before it must choose chunking. */
#define GO_CHUNKING_AFTER 2048

/* An entry's JSON before Go's escaping: a name is at most NAME_MAX (255) bytes, six per byte
 * once escaped, plus the sign and the rest. */
#define ENTRY_RAW_MAX 4096

/* conf.UNKNOWN .. conf.IMAGE (internal/conf/const.go:172-178). */
enum {
    TYPE_UNKNOWN = 0,
    TYPE_FOLDER = 1,
    TYPE_VIDEO = 2,
    TYPE_AUDIO = 3,
    TYPE_TEXT = 4,
    TYPE_IMAGE = 5
};

/* The default type settings (bootstrap/data/setting.go:128-131), in GetFileType's order of checks
 * (pkg/utils/file.go:142-157); each list is comma-delimited on both ends for a whole-word match. */
static const struct {
    int type;
    const char *exts;
} type_lists[] = {
    {TYPE_AUDIO, ",mp3,flac,ogg,m4a,wav,opus,wma,"},
    {TYPE_VIDEO, ",mp4,mkv,avi,mov,rmvb,webm,flv,m3u8,"},
    {TYPE_IMAGE, ",jpg,tiff,jpeg,png,gif,bmp,svg,ico,swf,webp,avif,"},
    {TYPE_TEXT, ",txt,htm,html,xml,java,properties,sql,js,md,json,conf,ini,vue,php,py,bat,"
                "gitignore,yml,go,sh,c,cpp,h,hpp,tsx,vtt,srt,ass,rs,lrc,strm,"},
};

/* utils.GetFileType: the lower-cased text after the name's last '.', looked up in the lists. */
static int file_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    char ext[64];
    size_t n = dot != NULL ? strlen(dot + 1) : 0;
    if (n == 0 || n + 3 > sizeof ext)
        return TYPE_UNKNOWN;
    ext[0] = ',';
    for (size_t i = 0; i < n; i++)
        ext[i + 1] =
            (char)(dot[1 + i] >= 'A' && dot[1 + i] <= 'Z' ? dot[1 + i] - 'A' + 'a' : dot[1 + i]);
    ext[n + 1] = ',';
    ext[n + 2] = '\0';
    for (size_t i = 0; i < sizeof type_lists / sizeof type_lists[0]; i++)
        if (strstr(type_lists[i].exts, ext) != NULL)
            return type_lists[i].type;
    return TYPE_UNKNOWN;
}

const char *mock_fs_host_path(const mock_server *srv, const char *path, char *out, size_t outsz)
{
    /* filepath.Join: the two joined by '/' and cleaned. */
    snprintf(out, outsz, "%s/%s", srv->cfg.root, path);
    mock_path_clean(out);
    return out;
}

/* Answers in the envelope with data null, as ErrorResp and ErrorStrResp do (HTTP 200). */
static enum MHD_Result fail(mock_call *call, int code, const char *msg)
{
    return mock_call_answer(call, MHD_HTTP_OK, code, msg, NULL);
}

/* Answers code with "<what>: <errno text>" after a prefix, Go's PathError on the host path. */
static enum MHD_Result fail_os(mock_call *call, int code, const char *prefix, const char *op,
                               const char *path, int err)
{
    char host[4096], why[128], msg[sizeof host + 256];
    snprintf(msg, sizeof msg, "%s%s %s: %s", prefix, op,
             mock_fs_host_path(call->srv, path, host, sizeof host),
             mock_go_errno(err, why, sizeof why));
    return fail(call, code, msg);
}

/*
 * What an error of storage.c means here: the way out of the root is refused with
 * errs.PermissionDenied, as uploads refuse it; anything else is the Local driver's os error.
 */
static enum MHD_Result fail_stat(mock_call *call, const char *prefix, const char *path, int err)
{
    if (err == EXDEV)
        return fail(call, 403, "permission denied");
    return fail_os(call, 500, prefix, "stat", path, err);
}

/*
 * A path field joined as user.JoinPath does (base path "/"): a malloc'd cleaned path, or NULL
 * having answered code 403 (errs.RelativePath) into *r.
 */
static char *join(mock_call *call, const char *raw, enum MHD_Result *r)
{
    char msg[128];
    char *p = malloc(strlen(raw) + 2);
    if (p == NULL) {
        *r = MHD_NO;
        return NULL;
    }
    if (mock_join_path(raw, call->srv->cfg.profile, p, msg, sizeof msg) != 0) {
        *r = fail(call, 403, msg);
        free(p);
        return NULL;
    }
    return p;
}

/*
 * Paths from "/@s" on are OpenList's shares (fsread.go:67-71, 270-274), and the mock has none:
 * SharingGet/SharingList answer an empty share id or a missing share (handles/sharing.go:24-30,
 * 320-325). Returns 1 having answered into *r, 0 for any other path.
 */
static int share(mock_call *call, const char *path, enum MHD_Result *r)
{
    if (strncmp(path, "/@s", 3) != 0)
        return 0;
    const char *rest = path + 3 + (path[3] == '/');
    *r = *rest == '\0' || *rest == '/' ? fail(call, 400, "invalid share id")
                                       : fail(call, 500, "the share does not exist");
    return 1;
}

/* FsGetSplit and FsListSplit let a disabled guest through Auth(true) and refuse it here. */
static int disabled_guest(mock_call *call, enum MHD_Result *r)
{
    if (!call->who.disabled)
        return 0;
    *r = fail(call, 401, "Guest user is disabled, login please");
    return 1;
}

/* os.Stat beneath the root, a reserved name being nothing: 0, or the errno. */
static int look(const mock_server *srv, const char *path, mock_fs_info *fi)
{
    if (mock_path_reserved(path))
        return ENOENT;
    return mock_fs_stat(srv->rootfd, path, fi) < 0 ? errno : 0;
}

/*
 * The start both reading routes share (FsGetSplit, FsListSplit, then FsGet/FsList's JoinPath):
 * bind t into v, the share prefix, the disabled guest, the path field v[pi] joined. Returns the
 * malloc'd path, or NULL having answered into *r.
 */
static char *read_path(mock_call *call, const mock_bind_type *t, mock_value *v, size_t pi,
                       enum MHD_Result *r)
{
    if (mock_call_bind(call, t, v, r) < 0 || share(call, v[pi].s, r) || disabled_guest(call, r))
        return NULL;
    return join(call, v[pi].s, r);
}

/* common.Sign (server/common/sign.go:12-17): "" for a directory or under --no-sign. */
static const char *sign_of(const mock_server *srv, int is_dir, const char *parent, const char *name,
                           char out[MOCK_SIGN_MAX])
{
    out[0] = '\0';
    if (is_dir || srv->cfg.no_sign)
        return out;
    char *full = malloc(strlen(parent) + strlen(name) + 2);
    if (full == NULL)
        return out;
    snprintf(full, strlen(parent) + strlen(name) + 2, "%s/%s", parent, name);
    mock_path_clean(full); /* path.Join */
    mock_sign(srv, full, 0, out);
    free(full);
    return out;
}

/* A time field as Go's encoding/json writes time.Time. */
static void add_time(cJSON *o, const char *key, struct timespec t)
{
    char s[64];
    cJSON_AddStringToObject(o, key, mock_go_time(t, s, sizeof s));
}

/* An int64 exactly (cJSON's numbers are doubles). */
static void add_int(cJSON *o, const char *key, long long v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", v);
    cJSON_AddRawToObject(o, key, s);
}

/*
 * ObjResp's fields (fsread.go:35-47) into o: name, size, is_dir, modified, created (the birth
 * time, else the mtime: model.Object.CreateTime), sign, thumb (none: Local's thumbnail option is
 * off), type, hashinfo (the JSON of a nil map) and hash_info (a nil map); mount_details is
 * omitempty and never set for Local.
 */
static void obj_fields(cJSON *o, const char *name, long long size, int is_dir,
                       const mock_fs_info *fi, const char *sign, int type)
{
    cJSON_AddStringToObject(o, "name", name);
    add_int(o, "size", size);
    cJSON_AddBoolToObject(o, "is_dir", is_dir);
    add_time(o, "modified", fi->mtime);
    add_time(o, "created", fi->btime.tv_nsec >= 0 ? fi->btime : fi->mtime);
    cJSON_AddStringToObject(o, "sign", sign);
    cJSON_AddStringToObject(o, "thumb", "");
    add_int(o, "type", type);
    cJSON_AddStringToObject(o, "hashinfo", "null");
    cJSON_AddNullToObject(o, "hash_info");
}

/* ---- a listing's answer, rendered as it is sent ---- */

typedef enum objs_phase {
    P_HEAD,  /* everything before the array */
    P_FIRST, /* "[" and the first entry, or "null" when there is none */
    P_ITEMS, /* "," and the next entry, or "]" */
    P_TAIL,  /* everything after the array */
    P_DONE,
} objs_phase;

/*
 * One answer that holds a list of ObjResp (fs/list's content, fs/get's related): head, the
 * entries names[next .. end) of the directory dir, tail. It is the response's own and freed by
 * libmicrohttpd through objs_free.
 */
typedef struct objs_stream {
    const mock_server *srv;
    char *dir; /* the listed directory's cleaned path */
    int dirfd; /* the directory, for each entry's lstat; -1 when nothing was listed */
    mock_fs_names names;
    size_t next, end;
    objs_phase phase;
    char *head, *tail; /* rendered with Go's escaping (malloc'd) */
    const char *piece; /* what is being sent: piece[off .. len) */
    size_t off, len;
    char pre[GO_CHUNKING_AFTER + 1]; /* what was rendered to choose the framing */
    size_t pre_len, pre_off;
    char raw[ENTRY_RAW_MAX];
    char out[6 * ENTRY_RAW_MAX + 2]; /* "[" or "," and an entry with Go's escaping */
} objs_stream;

static void objs_free(void *cls)
{
    objs_stream *s = cls;
    if (s == NULL)
        return;
    if (s->dirfd >= 0)
        close(s->dirfd);
    mock_fs_names_free(&s->names);
    free(s->dir);
    free(s->head);
    free(s->tail);
    free(s);
}

/*
 * Renders the next entry that can still be read (one removed since the directory was read is
 * left out) after sep into s->out. Returns 1, or 0 when no entry is left.
 */
static int render_entry(objs_stream *s, char sep)
{
    for (; s->next < s->end; s->next++) {
        const char *name = s->names.name[s->next];
        mock_fs_info fi;
        if (mock_fs_entry(s->srv->rootfd, s->dirfd, s->dir, name, &fi) < 0)
            continue;
        char sign[MOCK_SIGN_MAX];
        cJSON *o = cJSON_CreateObject();
        /* toObjsResp (fsread.go:228-248): a directory's size is 0 (directory_size is off). */
        obj_fields(o, name, fi.is_dir ? 0 : fi.size, fi.is_dir, &fi,
                   sign_of(s->srv, fi.is_dir, s->dir, name, sign),
                   fi.is_dir ? TYPE_FOLDER : file_type(name));
        long n = -1;
        s->out[0] = sep;
        if (o != NULL && cJSON_PrintPreallocated(o, s->raw, sizeof s->raw, 0))
            n = mock_json_go_into(s->raw, s->out + 1, sizeof s->out - 1, 0);
        cJSON_Delete(o);
        s->next++;
        if (n < 0)
            continue;
        s->piece = s->out;
        s->len = (size_t)n + 1;
        return 1;
    }
    return 0;
}

/* Sets the next piece of the answer; 0 when everything is out. */
static int objs_fill(objs_stream *s)
{
    if (s->phase == P_DONE)
        return 0;
    s->off = 0;
    switch (s->phase) {
    case P_HEAD:
        s->piece = s->head;
        s->phase = P_FIRST;
        break;
    case P_FIRST:
    case P_ITEMS:
        if (render_entry(s, s->phase == P_FIRST ? '[' : ',')) {
            s->phase = P_ITEMS;
            return 1;
        }
        /* An empty slice of ObjResp is nil in Go, and nil is null. */
        s->piece = s->phase == P_FIRST ? "null" : "]";
        s->phase = P_TAIL;
        break;
    case P_TAIL:
        s->piece = s->tail;
        s->phase = P_DONE;
        break;
    case P_DONE:
        return 0;
    }
    s->len = strlen(s->piece);
    return 1;
}

/* libmicrohttpd's content reader: what was rendered ahead, then piece after piece. */
static ssize_t objs_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    objs_stream *s = cls;
    size_t w = 0;
    (void)pos;
    w += mock_hand_out(buf, max, s->pre, s->pre_len, &s->pre_off);
    while (w < max) {
        if (s->off == s->len && !objs_fill(s))
            break;
        w += mock_hand_out(buf + w, max - w, s->piece, s->len, &s->off);
    }
    return w > 0 ? (ssize_t)w : MHD_CONTENT_READER_END_OF_STREAM;
}

/*
 * Queues the answer s describes (taken over): the first GO_CHUNKING_AFTER + 1 bytes are rendered
 * now, and if that is all of it, it goes out as one buffer with its length, else as a stream.
 */
static enum MHD_Result objs_answer(mock_call *call, objs_stream *s)
{
    struct MHD_Response *resp = NULL;
    s->phase = P_HEAD;
    s->off = s->len = 0;
    ssize_t n = objs_read(s, 0, s->pre, sizeof s->pre);
    s->pre_len = n > 0 ? (size_t)n : 0;
    if (s->phase == P_DONE && s->off == s->len && s->pre_len <= GO_CHUNKING_AFTER) {
        resp = MHD_create_response_from_buffer(s->pre_len, s->pre, MHD_RESPMEM_MUST_COPY);
        objs_free(s);
    } else {
        resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, objs_read, s, objs_free);
        if (resp == NULL)
            objs_free(s);
    }
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    call->ans->http_status = MHD_HTTP_OK;
    call->ans->code = 200;
    snprintf(call->ans->msg, sizeof call->ans->msg, "success");
    enum MHD_Result ok = MHD_queue_response(call->c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* A new stream for the directory dir (taken over), or NULL. */
static objs_stream *objs_new(mock_call *call, char *dir)
{
    objs_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        free(dir);
        return NULL;
    }
    s->srv = call->srv;
    s->dir = dir;
    s->dirfd = -1;
    return s;
}

/*
 * The data object o rendered with Go's escaping and without its closing brace, behind the
 * envelope's head, then key: {"code":200,"message":"success","data":{...,"key":
 */
static char *head_of(cJSON *o, const char *key)
{
    char *body = mock_json_go(o);
    if (body == NULL)
        return NULL;
    size_t n = strlen(body);
    static const char env[] = "{\"code\":200,\"message\":\"success\",\"data\":";
    size_t cap = sizeof env + n + strlen(key) + 8;
    char *h = malloc(cap);
    if (h != NULL)
        snprintf(h, cap, "%s%.*s%s\"%s\":", env, (int)n - 1, body, n > 2 ? "," : "", key);
    free(body);
    return h;
}

/* ---- POST /api/fs/list ---- */

/* handles.ListReq (fsread.go:22-27), model.PageReq embedded first (internal/model/req.go:3-6). */
static const mock_field list_fields[] = {
    /* jsoniter names a field an embedded struct promotes after the struct */
    {"page", "PageReq: Page", MOCK_FIELD_INT, 0, "page"},
    {"per_page", "PageReq: PerPage", MOCK_FIELD_INT, 0, "per_page"},
    {"path", "Path", MOCK_FIELD_STRING, 0, "path"},
    {"password", "Password", MOCK_FIELD_STRING, 0, "password"},
    {"refresh", "Refresh", MOCK_FIELD_BOOL, 0, NULL},
};
static const mock_bind_type list_req = {"handles.ListReq", list_fields, 5};

/*
 * pagination (fsread.go:214-226) with Go's int arithmetic, which wraps: a slice out of bounds is
 * a panic that gin's recovery answers with a bare 500, which the caller then sends (-1).
 * Otherwise [*from, *to) is the page.
 */
static int page_of(long long page, long long per_page, size_t total, size_t *from, size_t *to)
{
    /* PageReq.Validate (req.go:13-20): page < 1 is 1, per_page < 1 is "all" (MaxInt). */
    if (page < 1)
        page = 1;
    if (per_page < 1)
        per_page = INT64_MAX;
    int64_t start = (int64_t)((uint64_t)(page - 1) * (uint64_t)per_page);
    if (start > (int64_t)total) {
        *from = *to = 0;
        return 0;
    }
    int64_t end = (int64_t)((uint64_t)start + (uint64_t)per_page);
    if (end > (int64_t)total)
        end = (int64_t)total;
    if (start < 0 || end < start)
        return -1;
    *from = (size_t)start;
    *to = (size_t)end;
    return 0;
}

/* gin's recovery after a panic: HTTP 500 and no body. */
static enum MHD_Result panic_answer(mock_call *call)
{
    call->ans->http_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    call->ans->code = 500;
    snprintf(call->ans->msg, sizeof call->ans->msg,
             "runtime error: slice bounds out of range (gin's recovery answers 500)");
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(call->c, MHD_HTTP_INTERNAL_SERVER_ERROR, resp);
    MHD_destroy_response(resp);
    return ok;
}

enum MHD_Result mock_fs_list(mock_call *call)
{
    mock_value v[5];
    enum MHD_Result r;
    char *path = read_path(call, &list_req, v, 2, &r);
    if (path == NULL)
        return r;
    /* canWriteContentAtPath: CanWrite is true without metas, so bit 3 decides (fsread.go:96-99). */
    if (v[4].b && !(call->who.perm & MOCK_PERM_WRITE)) {
        free(path);
        return fail(call, 403, "Refresh without permission");
    }
    static const char get_dir[] = "failed get objs: failed get dir: failed to get obj: ";
    mock_fs_info fi;
    int e = look(call->srv, path, &fi);
    if (e != 0) {
        r = e == ENOENT ? fail(call, 500,
                               "failed get objs: failed get dir: failed to get obj: "
                               "object not found")
                        : fail_stat(call, get_dir, path, e);
        free(path);
        return r;
    }
    if (!fi.is_dir) {
        free(path);
        return fail(call, 500, "failed get objs: not a folder");
    }
    objs_stream *s = objs_new(call, path);
    if (s == NULL)
        return MHD_NO;
    s->dirfd = mock_fs_readdir(call->srv->rootfd, path, &s->names);
    if (s->dirfd < 0) {
        e = errno;
        r = e == EXDEV
                ? fail(call, 403, "permission denied")
                : fail_os(call, 500, "failed get objs: failed to list objs: ", "open", path, e);
        objs_free(s);
        return r;
    }
    if (page_of(v[0].i, v[1].i, s->names.n, &s->next, &s->end) < 0) {
        objs_free(s);
        return panic_answer(call);
    }
    /* FsListResp (fsread.go:49-58); without metas readme and header are "", write is true,
     * write_content_bypass false, and provider stays "unknown" (fsread.go:110). */
    char tail[256];
    snprintf(tail, sizeof tail,
             ",\"total\":%zu,\"readme\":\"\",\"header\":\"\",\"write\":true,"
             "\"write_content_bypass\":false,\"provider\":\"unknown\"}}",
             s->names.n);
    s->head = strdup("{\"code\":200,\"message\":\"success\",\"data\":{\"content\":");
    s->tail = strdup(tail);
    if (s->head == NULL || s->tail == NULL) {
        objs_free(s);
        return MHD_NO;
    }
    return objs_answer(call, s);
}

/* ---- POST /api/fs/get ---- */

/* handles.FsGetReq (fsread.go:250-253). */
static const mock_field get_fields[] = {
    {"path", "Path", MOCK_FIELD_STRING, 0, "path"},
    {"password", "Password", MOCK_FIELD_STRING, 0, "password"},
};
static const mock_bind_type get_req = {"handles.FsGetReq", get_fields, 2};

/*
 * common.GetApiUrl (server/common/base.go:13-31) without a site_url: the scheme (https over TLS
 * or behind X-Forwarded-Proto: https) and X-Forwarded-Host or Host, cleaned by path.Join.
 */
static void api_url(mock_call *call, char *out, size_t outsz)
{
    const mock_config *cfg = &call->srv->cfg;
    const char *proto = mock_header(call->c, "X-Forwarded-Proto");
    int https = cfg->tls_cert != NULL || cfg->tls_self_signed ||
                (proto != NULL && strcmp(proto, "https") == 0);
    const char *host = mock_header(call->c, "X-Forwarded-Host");
    if (host == NULL || *host == '\0')
        host = mock_header(call->c, MHD_HTTP_HEADER_HOST);
    char h[1024] = "";
    if (host != NULL && *host != '\0') {
        snprintf(h, sizeof h, "%s", host);
        mock_path_clean(h);
    }
    snprintf(out, outsz, "%s://%s", https ? "https" : "http", h);
    size_t n = strlen(out);
    if (n > 0 && out[n - 1] == '/')
        out[n - 1] = '\0';
}

/*
 * raw_url for a file (fsread.go:306-349): Local must proxy, so it is GetApiUrl + "/p" + the path
 * with every segment url.PathEscape'd (utils.EncodePath(path, true)), + "?sign=" unless
 * --no-sign. Returns a malloc'd string or NULL.
 */
static char *raw_url(mock_call *call, const char *path)
{
    char api[1100], sign[MOCK_SIGN_MAX] = "";
    api_url(call, api, sizeof api);
    size_t n = strlen(path), cap = strlen(api) + 3 * n + MOCK_SIGN_MAX + 16;
    char *u = malloc(cap);
    if (u == NULL)
        return NULL;
    size_t w = (size_t)snprintf(u, cap, "%s/p", api);
    for (const char *seg = path; seg != NULL && w < cap;) {
        const char *slash = strchr(seg + 1, '/');
        size_t k = slash != NULL ? (size_t)(slash - seg - 1) : strlen(seg + 1);
        u[w++] = '/';
        w += mock_go_escape(seg + 1, k, MOCK_ESC_PATH_SEGMENT, u + w, cap - w);
        seg = slash;
    }
    if (!call->srv->cfg.no_sign)
        snprintf(u + w, cap - w, "?sign=%s", mock_sign(call->srv, path, 0, sign));
    return u;
}

/* Keeps in s's names only filterRelated's (fsread.go:381-393): other names with obj's stem. */
static void keep_related(objs_stream *s, const char *obj)
{
    const char *dot = strrchr(obj, '.');
    size_t stem = dot != NULL ? (size_t)(dot - obj) : strlen(obj), k = 0;
    for (size_t i = 0; i < s->names.n; i++)
        if (strcmp(s->names.name[i], obj) != 0 && strncmp(s->names.name[i], obj, stem) == 0)
            s->names.name[k++] = s->names.name[i];
    s->next = 0;
    s->end = k;
}

/* path.Dir of a cleaned absolute path, malloc'd. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash > path ? (size_t)(slash - path) : 1;
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* The answer to fs/get of path, whose stat is fi; path is taken over. */
static enum MHD_Result get_answer(mock_call *call, char *path, const mock_fs_info *fi)
{
    int root = strcmp(path, "/") == 0;
    /* The storage root is op.Get's own object (internal/op/fs.go:153-160): named "root", size 0,
     * no birth time; its time is the storage's, which the mock takes from the root directory. */
    const char *name = root ? "root" : strrchr(path, '/') + 1;
    char *parent = parent_of(path), *url = NULL;
    objs_stream *s = parent != NULL ? objs_new(call, parent) : NULL;
    cJSON *o = cJSON_CreateObject();
    enum MHD_Result r = MHD_NO;
    if (s == NULL || o == NULL || (!fi->is_dir && (url = raw_url(call, path)) == NULL))
        goto out;
    mock_fs_info shown = *fi;
    if (root)
        shown.btime.tv_nsec = -1;
    char sign[MOCK_SIGN_MAX];
    /* FsGetResp (fsread.go:255-262): the type comes from the name even for a directory. */
    obj_fields(o, name, root ? 0 : fi->size, fi->is_dir, &shown,
               sign_of(call->srv, fi->is_dir, parent, name, sign), file_type(name));
    cJSON_AddStringToObject(o, "raw_url", url != NULL ? url : "");
    cJSON_AddStringToObject(o, "readme", "");
    cJSON_AddStringToObject(o, "header", "");
    /* GetProvider fails for a Local object, so the storage's driver name (fsread.go:309-312). */
    cJSON_AddStringToObject(o, "provider", "Local");
    s->head = head_of(o, "related");
    s->tail = strdup("}}");
    if (s->head == NULL || s->tail == NULL)
        goto out;
    /* related: the parent's listing; a failure to list leaves it null (fsread.go:350-355). */
    s->dirfd = mock_fs_readdir(call->srv->rootfd, s->dir, &s->names);
    if (s->dirfd >= 0)
        keep_related(s, name);
    r = objs_answer(call, s);
    s = NULL;
out:
    objs_free(s);
    cJSON_Delete(o);
    free(url);
    free(path);
    return r;
}

enum MHD_Result mock_fs_get(mock_call *call)
{
    mock_value v[2];
    enum MHD_Result r;
    char *path = read_path(call, &get_req, v, 0, &r);
    if (path == NULL)
        return r;
    mock_fs_info fi;
    int e = look(call->srv, path, &fi);
    if (e != 0) {
        /* fs.Get's errors are code 500 (fsread.go:299-305): op.Get wraps the driver's. */
        r = e == ENOENT ? fail(call, 500, "failed to get obj: object not found")
                        : fail_stat(call, "failed to get obj: ", path, e);
        free(path);
        return r;
    }
    return get_answer(call, path, &fi);
}

/* ---- POST /api/fs/mkdir ---- */

/* handles.MkdirOrLinkReq (fsmanage.go:22-24). */
static const mock_field mkdir_fields[] = {{"path", "Path", MOCK_FIELD_STRING, 0, "path"}};
static const mock_bind_type mkdir_req = {"handles.MkdirOrLinkReq", mkdir_fields, 1};

enum MHD_Result mock_fs_mkdir(mock_call *call)
{
    mock_value v[1];
    enum MHD_Result r;
    if (mock_call_bind(call, &mkdir_req, v, &r) < 0)
        return r;
    char *path = join(call, v[0].s, &r);
    if (path == NULL)
        return r;
    mock_fs_info fi;
    if (!(call->who.perm & MOCK_PERM_WRITE)) {
        r = fail(call, 403, "permission denied"); /* fsmanage.go:44-51 */
    } else if (mock_path_reserved(path)) {
        /* No directory may take the temp files' names, as no upload may. */
        r = fail(call, 403,
                 "path uses the reserved name prefix " MOCK_TMP_PREFIX
                 " (streamput-mock's temp files carry it); choose another name");
    } else if (mock_fs_stat(call->srv->rootfd, path, &fi) == 0) {
        /* op.MakeDir (internal/op/fs.go:305-370): an existing directory is success. */
        r = fi.is_dir ? mock_call_answer(call, MHD_HTTP_OK, 200, "success", NULL)
                      : fail(call, 500, "file exists");
    } else if (errno != ENOENT) {
        r = fail_stat(call, "failed to check if dir exists: failed to get obj: ", path, errno);
    } else if (mock_fs_mkdirs(call->srv->rootfd, path) < 0) {
        r = errno == EXDEV ? fail(call, 403, "permission denied")
                           : fail_os(call, 500, "", "mkdir", path, errno);
    } else {
        r = mock_call_answer(call, MHD_HTTP_OK, 200, "success", NULL);
    }
    free(path);
    return r;
}

/* ---- POST /api/fs/remove ---- */

/* handles.RemoveReq (fsmanage.go:337-340): json tags only. */
static const mock_field remove_fields[] = {
    {"dir", "Dir", MOCK_FIELD_STRING, 0, NULL},
    {"names", "Names", MOCK_FIELD_STRINGS, 0, NULL},
};
static const mock_bind_type remove_req = {"handles.RemoveReq", remove_fields, 2};

/* A request's first failure: its code and message, answered once the request is done. */
typedef struct outcome {
    int code;
    char msg[4096 + 300]; /* room for a host path and Go's text for an errno */
} outcome;

static void set_outcome(outcome *o, int code, const char *msg)
{
    o->code = code;
    snprintf(o->msg, sizeof o->msg, "%s", msg);
}

/*
 * op.Remove of one cleaned path (internal/op/fs.go:575-600): the root is refused, what is not
 * there is success. Returns 0, or -1 with the failure in *o.
 */
static int remove_one(const mock_server *srv, const char *path, outcome *o)
{
    if (strcmp(path, "/") == 0) {
        set_outcome(o, 500, "delete root folder is not allowed");
        return -1;
    }
    if (mock_path_reserved(path) || mock_fs_remove(srv->rootfd, path) >= 0)
        return 0;
    int e = errno;
    char host[4096], why[128];
    mock_fs_host_path(srv, path, host, sizeof host);
    mock_go_errno(e, why, sizeof why);
    o->code = 500;
    if (e == ENOTDIR)
        snprintf(o->msg, sizeof o->msg, "failed to get object: failed to get obj: stat %s: %s",
                 host, why);
    else if (e == EXDEV)
        set_outcome(o, 403, "permission denied");
    else if (e == ENOTEMPTY)
        /* OpenList would take a live upload's file with the directory; the mock keeps both. */
        snprintf(o->msg, sizeof o->msg,
                 "remove [%.300s]: it holds an upload in progress (a " MOCK_TMP_PREFIX
                 " file), which the mock never removes",
                 path);
    else
        snprintf(o->msg, sizeof o->msg, "remove %s: %s", host, why);
    return -1;
}

enum MHD_Result mock_fs_remove_route(mock_call *call)
{
    mock_value v[2];
    enum MHD_Result r;
    if (mock_call_bind(call, &remove_req, v, &r) < 0)
        return r;
    /* FsRemove (fsmanage.go:343-395), its checks in its order. */
    if (cJSON_GetArraySize(v[1].strs) == 0)
        return fail(call, 400, "Empty file names");
    if (!(call->who.perm & MOCK_PERM_REMOVE))
        return fail(call, 403, "permission denied");
    char *dir = join(call, v[0].s, &r);
    if (dir == NULL)
        return r;
    size_t dn = strlen(dir);
    int slash = dir[dn - 1] == '/';
    outcome o = {.code = 200, .msg = "success"};
    const cJSON *name;
    cJSON_ArrayForEach(name, v[1].strs)
    {
        /* path.Join(dir + "/", name); a name that climbs out of dir is skipped (:372-382). */
        size_t cap = dn + strlen(name->valuestring) + 3;
        char *full = malloc(cap);
        if (full == NULL) {
            free(dir);
            return MHD_NO;
        }
        snprintf(full, cap, "%s%s%s", dir, slash ? "" : "/", name->valuestring);
        mock_path_clean(full);
        size_t fn = strlen(full);
        full[fn] = '/';
        full[fn + 1] = '\0';
        int inside = strncmp(full, dir, dn) == 0 && (slash || full[dn] == '/');
        full[fn] = '\0';
        /* The first failure ends the request; what was removed before it stays removed. */
        int failed = inside && remove_one(call->srv, full, &o) < 0;
        free(full);
        if (failed)
            break;
    }
    free(dir);
    return mock_call_answer(call, MHD_HTTP_OK, o.code, o.msg, NULL);
}
