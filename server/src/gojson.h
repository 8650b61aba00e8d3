/*
 * What gin's c.ShouldBind(&req) returns for a JSON body in OpenList (gojson.c, pure).
 *
 * OpenList's every build (build.sh, the release and Docker workflows) passes -tags=jsoniter, so
 * gin's codec/json is json-iterator/go v1.1.12's ConfigCompatibleWithStandardLibrary, not
 * encoding/json: the texts, the order in which things fail and what a decoded string holds are
 * jsoniter's. mock_gj_decode replays jsoniter's Decoder over the body, read the way a Go server
 * reads it, then gin's validator for binding:"required".
 */
#ifndef MOCK_GOJSON_H
#define MOCK_GOJSON_H

#include <stddef.h>
#include <stdint.h>

/* jsoniter decodes structs of up to 10 fields by hashed field names; larger ones are not modelled.
 */
#define MOCK_GJ_MAXFIELDS 10

typedef enum { MOCK_GJ_STRING, MOCK_GJ_INT, MOCK_GJ_BOOL, MOCK_GJ_STRINGS } mock_gj_kind;

/* The field has gin's binding:"required" (go-playground/validator's hasValue). */
#define MOCK_GJ_REQUIRED 1u

typedef struct {
    const char *json; /* the json tag's name: lower-case ASCII, not empty */
    /* jsoniter's name for the field in errors: "Username", or "PageReq: Page" for a field that
     * an embedded struct PageReq promotes. */
    const char *go;
    mock_gj_kind kind; /* string, int (Go's int is 64 bits), bool, []string */
    unsigned flags;    /* MOCK_GJ_REQUIRED or 0 */
} mock_gj_field;

typedef struct {
    const char *go_type; /* reflect's name, "handles.LoginReq" */
    const mock_gj_field *fields;
    size_t n; /* 1 .. MOCK_GJ_MAXFIELDS, json names of distinct hashes */
} mock_gj_struct;

/* Bytes that may hold NUL and invalid UTF-8: jsoniter copies string bytes as they came. */
typedef struct {
    const char *p;
    size_t n;
} mock_gj_str;

/* A field's value after a successful decode; a field the body left out keeps Go's zero value. */
typedef struct {
    mock_gj_str s;           /* MOCK_GJ_STRING */
    int64_t i;               /* MOCK_GJ_INT */
    int b;                   /* MOCK_GJ_BOOL */
    const mock_gj_str *list; /* MOCK_GJ_STRINGS: count elements */
    size_t count;
    int nil; /* MOCK_GJ_STRINGS: the slice is nil (absent or null), not merely empty */
} mock_gj_value;

typedef struct {
    mock_gj_value v[MOCK_GJ_MAXFIELDS]; /* in the order of mock_gj_struct.fields */
    /* Go's err.Error() when mock_gj_decode returned MOCK_GJ_EGO: errlen bytes that may hold NUL
     * (jsoniter quotes the byte it found, and 0 at the end of input) and raw body bytes, with a
     * NUL after them. NULL otherwise. */
    const char *err;
    size_t errlen;
    char *mem_; /* private: what mock_gj_done frees */
    mock_gj_str *lists_;
} mock_gj_doc;

enum {
    MOCK_GJ_OK = 0,
    MOCK_GJ_EGO = -1,          /* Go refused the body: doc->err */
    MOCK_GJ_ENOMEM = -2,       /* out of memory: nothing decoded */
    MOCK_GJ_EUNSUPPORTED = -3, /* the struct description is outside what is modelled */
};

/*
 * Decode len bytes of body (not NUL-terminated) into s as gin's ShouldBind would: 0 with doc->v
 * filled, or MOCK_GJ_EGO with Go's error text in doc->err. head_len is how many bytes of request
 * line and headers came before the body in the Go server's first 4 KiB read of the connection,
 * 0 when the body arrived on its own: jsoniter's error texts quote the 512-byte Read the error
 * fell in, and net/http's bufio.Reader cuts those Reads at its 4 KiB refills. The doc owns every
 * byte it points to (nothing points into body): call mock_gj_done(doc) afterwards, whatever the
 * result.
 */
int mock_gj_decode(const mock_gj_struct *s, const char *body, size_t len, size_t head_len,
                   mock_gj_doc *doc);

/*
 * OpenList's request structs (0b1e9d09), their fields in declaration order, so an index below
 * is the field's place in mock_gj_doc.v.
 */
/* server/handles/auth.go:16 LoginReq: Username (binding:"required"), Password, OtpCode */
extern const mock_gj_struct mock_gj_login_req;
enum { MOCK_GJ_LOGIN_USERNAME, MOCK_GJ_LOGIN_PASSWORD, MOCK_GJ_LOGIN_OTP_CODE };
/* server/handles/fsread.go:22 ListReq: model.PageReq (internal/model/req.go:3: Page, PerPage),
 * Path, Password, Refresh */
extern const mock_gj_struct mock_gj_list_req;
enum {
    MOCK_GJ_LIST_PAGE,
    MOCK_GJ_LIST_PER_PAGE,
    MOCK_GJ_LIST_PATH,
    MOCK_GJ_LIST_PASSWORD,
    MOCK_GJ_LIST_REFRESH
};
/* server/handles/fsread.go:250 FsGetReq: Path, Password */
extern const mock_gj_struct mock_gj_fs_get_req;
enum { MOCK_GJ_GET_PATH, MOCK_GJ_GET_PASSWORD };
/* server/handles/fsmanage.go:22 MkdirOrLinkReq: Path */
extern const mock_gj_struct mock_gj_mkdir_req;
enum { MOCK_GJ_MKDIR_PATH };
/* server/handles/fsmanage.go:337 RemoveReq: Dir, Names */
extern const mock_gj_struct mock_gj_remove_req;
enum { MOCK_GJ_REMOVE_DIR, MOCK_GJ_REMOVE_NAMES };

/* Frees what mock_gj_decode gave doc; a zeroed or already released doc is fine. */
void mock_gj_done(mock_gj_doc *doc);

/*
 * n bytes as a JSON string literal the way gin (jsoniter, HTML-escaping) writes it: '<', '>',
 * '&' and controls but \n, \r, \t as \u00XX, invalid UTF-8 as \ufffd, U+2028/U+2029 escaped.
 * Writes at most outsz bytes with a NUL when it fits and returns the length it needs, like
 * snprintf.
 */
size_t mock_gj_quote(const char *s, size_t n, char *out, size_t outsz);

#endif
