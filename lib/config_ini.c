/*
 * gossip.conf(5) loader: the [cluster] settings of a TOML-like INI file.
 *
 * Why inih is fed through our own line reader:
 * inih (Debian's libinih 55) is built with a 200-byte line buffer, 50-byte
 * section names, ';' inline comments that cut quoted values ("a ;b"), and
 * Python-style continuation lines, so an indented "key = value" after
 * another key silently becomes part of the previous value.  None of that
 * suits a TOML-shaped file such as the one the mail server documents.  So
 * the reader below splits the text into logical lines itself (it keeps the
 * physical line number, joins arrays that span lines, knows quoted strings
 * and '#' / ';' comments, and follows section headers), and hands inih only
 * short synthetic lines: "[s]" for a header, "k=" for a key of ours, and an
 * empty line for everything else.  inih still drives the parse and calls
 * the handler once per key; the handler reads the real key and value from
 * the context.  inih's global knobs are left untouched: they belong to the
 * host too.
 *
 * Every key is seen as a dotted path, TOML style: [cluster] roles.a.b,
 * [cluster.roles] a.b and [cluster.roles.a] b all name cluster.roles.a.b,
 * and a top-level "cluster.key = ..." works as well.  Paths outside
 * "cluster." belong to other programs and are ignored, with a warning only
 * when a section name looks like a misspelt "cluster" ([cluste.roles.x]).
 *
 * The file is applied to a copy of the caller's config, which is replaced
 * only when the whole file loaded and validated: a failed reload leaves the
 * running config untouched.
 */
#include "config_int.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"

#define MAX_FILE_BYTES (16u << 20) /* a config file, not a database */
#define MAX_ITEMS 64               /* elements of one array value */
#define ITEM_MAX 512               /* bytes of one string element */
#define MAX_PATH_LEN 256           /* dotted key path */

/* --- values -------------------------------------------------------------- */

struct item {
    char text[ITEM_MAX];
    bool quoted;
};

struct value {
    bool is_array;
    unsigned n;
    struct item items[MAX_ITEMS];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blank(const char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

/* '#' and ';' start a comment at the start of a value or after a blank, so
 * an unquoted passphrase like abc#1 keeps its '#'. */
static bool comment_at(const char *start, const char *s)
{
    return (*s == '#' || *s == ';') && (s == start || is_blank(s[-1]));
}

static bool set_why(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return false;
}

static bool parse_scalar(const char *start, const char **sp, bool in_array, struct item *it,
                         char *why, size_t whylen)
{
    const char *s = *sp;
    size_t n = 0;

    memset(it, 0, sizeof *it);
    if (s[0] == '"' && s[1] == '"' && s[2] == '"')
        return set_why(why, whylen, "multi-line strings are not supported");
    if (*s == '"' || *s == '\'') {
        char q = *s++;
        it->quoted = true;
        for (;; s++) {
            char c = *s;
            if (c == '\0')
                return set_why(why, whylen, "unterminated string (missing closing quote)");
            if (c == q)
                break;
            if (c == '\\' && q == '"') {
                /* Basic strings take the escapes a passphrase or an
                 * address may need; anything else is a typo worth an
                 * error rather than a silently different key. */
                switch (*++s) {
                case '"': c = '"'; break;
                case '\\': c = '\\'; break;
                case 't': c = '\t'; break;
                case 'n': c = '\n'; break;
                default:
                    return set_why(why, whylen,
                                   "unsupported escape in string (use \\\" or \\\\)");
                }
            }
            if (n + 1 >= sizeof it->text)
                return set_why(why, whylen, "string too long");
            it->text[n++] = c;
        }
        s++;
    } else {
        const char *b = s;
        while (*s && !comment_at(start, s) && !(in_array && (*s == ',' || *s == ']')))
            s++;
        const char *e = s;
        while (e > b && is_blank(e[-1]))
            e--;
        if (e == b)
            return set_why(why, whylen, "missing value");
        n = (size_t)(e - b);
        if (*b == '[' || *b == '{')
            return set_why(why, whylen, in_array ? "nested arrays are not supported"
                                                 : "inline tables are not supported");
        if (n >= sizeof it->text)
            return set_why(why, whylen, "value too long");
        memcpy(it->text, b, n);
    }
    it->text[n] = '\0';
    *sp = s;
    return true;
}

static bool parse_value(const char *start, struct value *v, char *why, size_t whylen)
{
    const char *s = skip_blank(start);

    memset(v, 0, offsetof(struct value, items));
    if (*s == '\0' || comment_at(start, s))
        return set_why(why, whylen, "missing value");
    if (*s == '[') {
        v->is_array = true;
        s++;
        for (;;) {
            s = skip_blank(s);
            if (*s == ']') {
                s++;
                break;
            }
            if (*s == '\0' || comment_at(start, s))
                return set_why(why, whylen, "unterminated array (missing ']')");
            if (v->n >= MAX_ITEMS)
                return set_why(why, whylen, "too many elements in the array");
            if (!parse_scalar(start, &s, true, &v->items[v->n], why, whylen))
                return false;
            v->n++;
            s = skip_blank(s);
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == ']') {
                s++;
                break;
            }
            if (*s == '\0' || comment_at(start, s))
                return set_why(why, whylen, "unterminated array (missing ']')");
            return set_why(why, whylen, "expected ',' or ']' between array elements");
        }
    } else {
        if (!parse_scalar(start, &s, false, &v->items[0], why, whylen))
            return false;
        v->n = 1;
    }
    s = skip_blank(s);
    if (*s && !comment_at(start, s))
        return set_why(why, whylen, "unexpected text after the value");
    return true;
}

/* Unsigned decimal; negative, non-numeric and overflowing input refused. */
static bool parse_u64(const char *s, uint64_t *out, char *why, size_t whylen)
{
    uint64_t v = 0;

    if (*s == '-')
        return set_why(why, whylen, "must not be negative");
    if (*s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return set_why(why, whylen, "is not a number");
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return set_why(why, whylen, "is too large");
        v = v * 10 + d;
    }
    if (*s)
        return set_why(why, whylen, "is not a number");
    *out = v;
    return true;
}

/* "1500", "1500ms", "5s", "2m", "1h"; a bare integer is milliseconds, the
 * unit every field is kept in. */
static bool parse_duration(const char *s, uint64_t *ms, char *why, size_t whylen)
{
    char num[32];
    size_t i = 0;
    uint64_t v, mult;

    if (*s == '-')
        return set_why(why, whylen, "must not be negative");
    while (s[i] >= '0' && s[i] <= '9' && i + 1 < sizeof num) {
        num[i] = s[i];
        i++;
    }
    num[i] = '\0';
    if (i == 0 || !parse_u64(num, &v, why, whylen))
        return set_why(why, whylen, "is not a duration (an integer with ms, s, m or h)");
    const char *u = skip_blank(s + i);
    if (!*u || strcmp(u, "ms") == 0)
        mult = 1;
    else if (strcmp(u, "s") == 0)
        mult = 1000;
    else if (strcmp(u, "m") == 0)
        mult = 60000;
    else if (strcmp(u, "h") == 0)
        mult = 3600000;
    else
        return set_why(why, whylen, "has an unknown unit (use ms, s, m or h)");
    if (v > UINT64_MAX / mult)
        return set_why(why, whylen, "is too large");
    *ms = v * mult;
    return true;
}

/* Decimal "1.5", parsed by hand because strtod() follows the host's
 * LC_NUMERIC and would stop at the '.' in a German locale. */
static bool parse_decimal(const char *s, double *out, char *why, size_t whylen)
{
    double v = 0;
    bool digits = false;

    if (*s == '-')
        return set_why(why, whylen, "must not be negative");
    for (; *s >= '0' && *s <= '9'; s++, digits = true)
        v = v * 10 + (*s - '0');
    if (*s == '.') {
        double scale = 1;
        for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
            v += (*s - '0') * (scale /= 10);
    }
    if (!digits || *s)
        return set_why(why, whylen, "is not a decimal number");
    *out = v;
    return true;
}

/* --- the keys ------------------------------------------------------------ */

enum kind {
    K_NODE_ID,   /* u64 */
    K_PORT,      /* uint16, 1..65535 */
    K_PORT0,     /* uint16, 0..65535 (0 = bind-port) */
    K_BIND,      /* numeric address, required non-empty */
    K_ADVERTISE, /* numeric address or "" */
    K_LABEL,     /* string */
    K_KEY,       /* passphrase or array of passphrases */
    K_SEEDS,     /* array of "host[:port]" */
    K_HEARTBEAT, /* duration 10ms..1h */
    K_DUR,       /* uint32 ms, 0 = derived */
    K_UINT,      /* unsigned, 0 = derived */
    K_DOUBLE,    /* double, 0 = derived */
};

struct keydef {
    const char *name;
    enum kind kind;
    size_t off;
    unsigned long long max;
};

#define F(field) offsetof(struct gossip_config, field)
static const struct keydef keydefs[] = {
    {"node-id", K_NODE_ID, F(node_id), 0},
    {"bind-addr", K_BIND, F(bind_addr), 0},
    {"advertise-addr", K_ADVERTISE, F(advertise_addr), 0},
    {"bind-port", K_PORT, F(bind_port), 65535},
    {"advertise-port", K_PORT0, F(advertise_port), 65535},
    {"key", K_KEY, 0, 0},
    {"heartbeat", K_HEARTBEAT, F(heartbeat_ms), 3600000},
    {"seed-nodes", K_SEEDS, 0, 0},
    {"cluster-label", K_LABEL, F(cluster_label), 0},
    {"probe-timeout", K_DUR, F(probe_timeout_ms), 3600000},
    {"indirect-timeout", K_DUR, F(indirect_timeout_ms), 3600000},
    {"indirect-checks", K_UINT, F(indirect_checks), 16},
    {"suspicion-mult", K_DOUBLE, F(suspicion_mult), 100},
    {"suspicion-max-mult", K_DOUBLE, F(suspicion_max_mult), 100},
    {"suspicion-confirmations", K_UINT, F(suspicion_confirmations), 64},
    {"retransmit-mult", K_DOUBLE, F(retransmit_mult), 100},
    {"gossip-interval", K_DUR, F(gossip_interval_ms), 3600000},
    {"gossip-fanout", K_UINT, F(gossip_fanout), 64},
    {"sync-interval", K_DUR, F(sync_interval_ms), UINT32_MAX},
    {"ae-records", K_UINT, F(ae_records), 32},
    {"reconnect-interval", K_DUR, F(reconnect_interval_ms), UINT32_MAX},
    {"reap-time", K_DUR, F(reap_ms), UINT32_MAX},
    {"awareness-max", K_UINT, F(awareness_max), 64},
    {"max-datagram", K_UINT, F(max_datagram), 65507},
    {"max-members", K_UINT, F(max_members), 1u << 24},
    {"max-meta", K_UINT, F(max_meta), 255},
    {"max-event", K_UINT, F(max_event), 65507},
    {"max-pending-events", K_UINT, F(max_pending_events), 65536},
};
#undef F
#define N_KEYDEFS (sizeof keydefs / sizeof keydefs[0])

static const struct keydef *keydef_find(const char *name, size_t n)
{
    for (size_t i = 0; i < N_KEYDEFS; i++)
        if (strlen(keydefs[i].name) == n && strncmp(keydefs[i].name, name, n) == 0)
            return &keydefs[i];
    return NULL;
}

/* --- parse context ------------------------------------------------------- */

struct role_seen {
    unsigned list_line, failover_line, quorum_line;
    bool touched;
};

struct ctx {
    struct gossip_config work;   /* the caller's config with the file applied */
    const char *name;            /* file name for messages */
    const char *text;
    size_t pos, size;
    unsigned next_line;          /* physical line number of the next read */

    /* The logical line being read. */
    char *buf;                   /* value text of the current key (joined lines) */
    size_t buf_len, buf_cap;
    char section[MAX_PATH_LEN];
    bool section_warned;         /* its name got a "did you mean" warning */
    char key[MAX_PATH_LEN];      /* dotted key as written */
    unsigned key_line;
    bool pending;                /* an array or multi-line string continues */
    int depth;                   /* [ ] { } nesting of the pending value */
    char str;                    /* open string: 0, '"', '\'', 'D' (""") or 'L' (''') */

    bool failed, oom;
    int code;
    char msg[512];

    unsigned key_lines[N_KEYDEFS];
    struct role_seen roles[GOSSIP_MAX_ROLES];
    bool any_cluster_key;

    /* seed-nodes are resolved after the whole file, when bind-port (their
     * default port) is known whatever the order of the lines. */
    bool have_seeds;
    unsigned n_seeds;
    char seeds[GOSSIP_MAX_SEEDS][ITEM_MAX];

    struct value val;
    char why[160];
};

static void ctx_error(struct ctx *c, int code, unsigned line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void ctx_error(struct ctx *c, int code, unsigned line, const char *fmt, ...)
{
    char tail[400];
    va_list ap;

    if (c->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(c->msg, sizeof c->msg, "%s:%u: %s", c->name, line, tail);
    else
        snprintf(c->msg, sizeof c->msg, "%s: %s", c->name, tail);
    c->failed = true;
    c->code = code;
}

/* --- section names and typo detection ------------------------------------ */

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), enough to catch "cluste", "clutser", "role". */
static unsigned osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned d[33][33];

    if (la > 32 || lb > 32)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

static bool near(const char *a, size_t la, const char *word)
{
    unsigned dist = osa_distance(a, la, word, strlen(word));
    return dist >= 1 && dist <= 2;
}

/* If `sec` looks like a misspelling of "cluster" or "cluster.roles.*",
 * write the corrected name to out and return true. */
static bool suggest_section(const char *sec, char *out, size_t outlen)
{
    const char *dot = strchr(sec, '.');
    size_t l1 = dot ? (size_t)(dot - sec) : strlen(sec);
    bool first_ok = l1 == 7 && strncmp(sec, "cluster", 7) == 0;

    if (!first_ok && !near(sec, l1, "cluster"))
        return false;
    if (!dot) {
        snprintf(out, outlen, "cluster");
        return !first_ok;
    }
    const char *rest = dot + 1;
    const char *dot2 = strchr(rest, '.');
    size_t l2 = dot2 ? (size_t)(dot2 - rest) : strlen(rest);
    bool second_fix = !(l2 == 5 && strncmp(rest, "roles", 5) == 0) && near(rest, l2, "roles");
    if (first_ok && !second_fix)
        return false;
    if (second_fix)
        snprintf(out, outlen, "cluster.roles%s", dot2 ? dot2 : "");
    else
        snprintf(out, outlen, "cluster.%s", rest);
    return true;
}

/* --- the line reader ----------------------------------------------------- */

static bool buf_append(struct ctx *c, const char *s, size_t n)
{
    if (c->buf_len + n + 2 > c->buf_cap) {
        size_t cap = c->buf_cap ? c->buf_cap : 256;
        while (cap < c->buf_len + n + 2)
            cap *= 2;
        char *nb = malloc(cap);
        if (!nb) {
            c->oom = true;
            return false;
        }
        if (c->buf) {
            memcpy(nb, c->buf, c->buf_len);
            /* The old buffer may hold a passphrase. */
            explicit_bzero(c->buf, c->buf_cap);
            free(c->buf);
        }
        c->buf = nb;
        c->buf_cap = cap;
    }
    memcpy(c->buf + c->buf_len, s, n);
    c->buf_len += n;
    c->buf[c->buf_len] = '\0';
    return true;
}

/* Scan a piece of a value, updating the open-string and bracket state;
 * returns the length before a comment. */
static size_t scan_value(struct ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        switch (c->str) {
        case '"':
            if (ch == '\\')
                i++;
            else if (ch == '"')
                c->str = 0;
            continue;
        case '\'':
            if (ch == '\'')
                c->str = 0;
            continue;
        case 'D':
        case 'L': {
            char q = c->str == 'D' ? '"' : '\'';
            if (ch == '\\' && q == '"')
                i++;
            else if (ch == q && i + 2 < n && s[i + 1] == q && s[i + 2] == q) {
                c->str = 0;
                i += 2;
            }
            continue;
        }
        default:
            break;
        }
        if (ch == '"' || ch == '\'') {
            if (i + 2 < n && s[i + 1] == ch && s[i + 2] == ch) {
                c->str = ch == '"' ? 'D' : 'L';
                i += 2;
            } else {
                c->str = ch;
            }
        } else if ((ch == '#' || ch == ';') && (i == 0 || is_blank(s[i - 1]))) {
            return i;
        } else if (ch == '[' || ch == '{') {
            c->depth++;
        } else if (ch == ']' || ch == '}') {
            c->depth--;
        }
    }
    /* A one-line string cannot continue on the next line; the value
     * parser reports it. */
    if (c->str == '"' || c->str == '\'')
        c->str = 0;
    return n;
}

static bool next_physical(struct ctx *c, const char **line, size_t *len)
{
    if (c->pos >= c->size)
        return false;
    const char *s = c->text + c->pos;
    const char *nl = memchr(s, '\n', c->size - c->pos);
    size_t n = nl ? (size_t)(nl - s) : c->size - c->pos;

    c->pos += n + (nl ? 1 : 0);
    if (c->next_line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3; /* UTF-8 byte order mark */
        n -= 3;
    }
    if (n > 0 && s[n - 1] == '\r')
        n--;
    c->next_line++;
    *line = s;
    *len = n;
    return true;
}

static bool is_ours(const struct ctx *c)
{
    /* A key is ours when its full dotted path starts with "cluster.". */
    if (c->section[0])
        return strcmp(c->section, "cluster") == 0 || strncmp(c->section, "cluster.", 8) == 0;
    return strncmp(c->key, "cluster.", 8) == 0;
}

static void trim_copy(char *out, size_t outlen, const char *s, size_t n)
{
    while (n > 0 && is_blank(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void section_line(struct ctx *c, const char *p, size_t n, unsigned line)
{
    const char *end = memchr(p, ']', n);
    char sugg[MAX_PATH_LEN + 16];

    if (!end) {
        c->section[0] = '\0';
        ctx_error(c, GOSSIP_ECONFIG, line, "missing ']' in section header");
        return;
    }
    /* [[array of tables]] belongs to other programs: keep its name with
     * the bracket so it never matches ours. */
    if (p[1] == '[')
        trim_copy(c->section, sizeof c->section, p + 1, (size_t)(end - p));
    else
        trim_copy(c->section, sizeof c->section, p + 1, (size_t)(end - p - 1));
    c->section_warned = suggest_section(c->section, sugg, sizeof sugg);
    if (c->section_warned)
        config_log(&c->work, GOSSIP_LOG_WARN,
                   "%s:%u: section [%s] is ignored; did you mean [%s]?", c->name, line,
                   c->section, sugg);
}

/* A "key = value" line: remember the key, start the value.  The separator
 * is the first '=' outside quotes (TOML allows quoted keys). */
static bool key_line(struct ctx *c, const char *p, size_t n, unsigned line)
{
    size_t i;
    char q = 0;

    for (i = 0; i < n; i++) {
        if (q) {
            if (p[i] == q)
                q = 0;
        } else if (p[i] == '"' || p[i] == '\'') {
            q = p[i];
        } else if (p[i] == '=') {
            break;
        }
    }
    c->key_line = line;
    c->buf_len = 0;
    c->depth = 0;
    c->str = 0;
    if (i == n) {
        c->key[0] = '\0';
        if (strcmp(c->section, "cluster") == 0 || strncmp(c->section, "cluster.", 8) == 0)
            ctx_error(c, GOSSIP_ECONFIG, line, "expected \"key = value\"");
        return false;
    }
    trim_copy(c->key, sizeof c->key, p, i);
    const char *v = p + i + 1;
    size_t vn = n - i - 1;
    size_t keep = scan_value(c, v, vn);
    if (!buf_append(c, v, keep))
        return false;
    c->pending = c->depth > 0 || c->str == 'D' || c->str == 'L';
    return true;
}

/* The ini_reader: one logical line per call, rewritten for inih. */
static char *reader(char *str, int num, void *stream)
{
    struct ctx *c = stream;
    const char *line;
    size_t len;

    if (num < 8)
        return NULL;
    for (;;) {
        if (c->failed || c->oom)
            return NULL;
        if (!next_physical(c, &line, &len)) {
            if (!c->pending)
                return NULL;
            c->pending = false; /* unterminated at the end: the value parser says so */
            break;
        }
        if (c->pending) {
            size_t keep = scan_value(c, line, len);
            if (!buf_append(c, " ", 1) || !buf_append(c, line, keep))
                return NULL;
            if (c->depth <= 0 && c->str != 'D' && c->str != 'L') {
                c->pending = false;
                break;
            }
            continue;
        }
        const char *p = line;
        size_t n = len;
        while (n > 0 && is_blank(*p)) {
            p++;
            n--;
        }
        if (n == 0 || *p == '#' || *p == ';') {
            snprintf(str, (size_t)num, "\n");
            return str;
        }
        if (*p == '[') {
            section_line(c, p, n, c->next_line - 1);
            if (c->failed)
                return NULL;
            snprintf(str, (size_t)num, "[s]\n");
            return str;
        }
        if (!key_line(c, p, n, c->next_line - 1)) {
            if (c->failed || c->oom)
                return NULL;
            snprintf(str, (size_t)num, "\n");
            return str;
        }
        if (!c->pending)
            break;
    }
    snprintf(str, (size_t)num, is_ours(c) ? "k=\n" : "\n");
    return str;
}

/* --- applying keys ------------------------------------------------------- */

static int find_role(const struct gossip_config *w, const char *name)
{
    for (unsigned i = 0; i < w->n_roles && i < GOSSIP_MAX_ROLES; i++)
        if (strcmp(w->roles[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void apply_role(struct ctx *c, const char *path, const char *rest)
{
    char name[MAX_PATH_LEN];
    const struct value *v = &c->val;
    unsigned line = c->key_line;
    enum { LIST, FAILOVER, QUORUM } what = LIST;
    size_t n = strlen(rest);

    if (n > 9 && strcmp(rest + n - 9, ".failover") == 0) {
        what = FAILOVER;
        n -= 9;
    } else if (n > 7 && strcmp(rest + n - 7, ".quorum") == 0) {
        what = QUORUM;
        n -= 7;
    }
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, rest, n);
    name[n] = '\0';
    if (!roles_name_valid(name)) {
        ctx_error(c, GOSSIP_ECONFIG, line,
                  "%s: invalid role name \"%s\" (a-z, 0-9, '.', '_', '-', starting with a "
                  "letter, at most %d characters)",
                  path, name, GOSSIP_ROLE_NAME_MAX - 1);
        return;
    }
    int idx = find_role(&c->work, name);
    if (idx < 0) {
        if (gossip_config_set_role(&c->work, name, NULL, 0, 0) != 0) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: too many roles (at most %d)", path,
                      GOSSIP_MAX_ROLES);
            return;
        }
        idx = (int)c->work.n_roles - 1;
    }
    struct gossip_role *r = &c->work.roles[idx];
    struct role_seen *seen = &c->roles[idx];
    /* A role the file mentions takes its options from the file: drop
     * what an earlier load set, so removing a line resets it. */
    if (!seen->touched) {
        seen->touched = true;
        r->flags = 0;
    }
    unsigned *prev = what == LIST ? &seen->list_line
                     : what == FAILOVER ? &seen->failover_line : &seen->quorum_line;
    if (*prev) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: set twice (first on line %u)", path, *prev);
        return;
    }
    *prev = line;

    if (what != LIST) {
        bool b;
        if (v->is_array || (strcmp(v->items[0].text, "true") != 0 &&
                            strcmp(v->items[0].text, "false") != 0)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: expected true or false", path);
            return;
        }
        b = strcmp(v->items[0].text, "true") == 0;
        unsigned bit = what == FAILOVER ? GOSSIP_ROLE_NO_FAILOVER : GOSSIP_ROLE_QUORUM;
        bool set = what == FAILOVER ? !b : b;
        r->flags = set ? (r->flags | bit) : (r->flags & ~bit);
        return;
    }

    uint64_t nodes[GOSSIP_ROLE_MAX_NODES];
    if (v->n > GOSSIP_ROLE_MAX_NODES) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: more than %d node ids", path,
                  GOSSIP_ROLE_MAX_NODES);
        return;
    }
    for (unsigned i = 0; i < v->n; i++) {
        if (v->items[i].quoted) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: node id \"%s\" must be an unquoted integer",
                      path, v->items[i].text);
            return;
        }
        if (!parse_u64(v->items[i].text, &nodes[i], c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: node id %s %s (ids are 0..%llu)", path,
                      v->items[i].text, c->why, (unsigned long long)UINT64_MAX);
            return;
        }
        for (unsigned j = 0; j < i; j++)
            if (nodes[j] == nodes[i]) {
                ctx_error(c, GOSSIP_ECONFIG, line, "%s: node id %llu is listed twice", path,
                          (unsigned long long)nodes[i]);
                return;
            }
    }
    unsigned flags = r->flags;
    if (gossip_config_set_role(&c->work, name, nodes, v->n, flags) != 0)
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: cannot be set", path);
}

static bool scalar(struct ctx *c, const char *path)
{
    if (c->val.is_array) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: expected a single value, not an array",
                  path);
        return false;
    }
    return true;
}

static void set_string(struct ctx *c, const char *path, char *field, size_t cap)
{
    const char *s = c->val.items[0].text;

    if (!scalar(c, path))
        return;
    if (strlen(s) >= cap) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: \"%s\" is too long (at most %zu bytes)",
                  path, s, cap - 1);
        return;
    }
    memcpy(field, s, strlen(s) + 1);
}

static void apply_key(struct ctx *c, const struct keydef *k, const char *path)
{
    const struct value *v = &c->val;
    const char *s = v->items[0].text;
    unsigned line = c->key_line;
    char *base = (char *)&c->work;
    uint64_t u;
    double d;

    switch (k->kind) {
    case K_NODE_ID:
        if (!scalar(c, path))
            return;
        if (!parse_u64(s, &u, c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s %s", path, s, c->why);
            return;
        }
        c->work.node_id = u;
        return;
    case K_PORT:
    case K_PORT0:
        if (!scalar(c, path))
            return;
        if (!parse_u64(s, &u, c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s %s", path, s, c->why);
            return;
        }
        if (u > 65535 || (k->kind == K_PORT && u == 0)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s is out of range (%d..65535)", path, s,
                      k->kind == K_PORT ? 1 : 0);
            return;
        }
        *(uint16_t *)(void *)(base + k->off) = (uint16_t)u;
        return;
    case K_BIND:
    case K_ADVERTISE: {
        const char *why;
        if (!scalar(c, path))
            return;
        if ((k->kind == K_BIND || s[0]) && (why = config_addr_problem(s, k->kind == K_BIND ? CONFIG_ADDR_BIND
                                                             : CONFIG_ADDR_ADVERTISE,
                                               0)) != NULL) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: \"%s\" %s", path, s, why);
            return;
        }
        set_string(c, path, base + k->off, GOSSIP_ADDR_MAX);
        return;
    }
    case K_LABEL:
        set_string(c, path, c->work.cluster_label, sizeof c->work.cluster_label);
        return;
    case K_KEY: {
        char where[300];
        if (v->n == 0) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: the keyring needs at least one passphrase",
                      path);
            return;
        }
        if (v->n > GOSSIP_MAX_KEYS) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: more than %d keys", path, GOSSIP_MAX_KEYS);
            return;
        }
        /* The file's keyring replaces the old one: appending on every
         * reload would fill it up. */
        explicit_bzero(c->work.keys, sizeof c->work.keys);
        c->work.n_keys = 0;
        snprintf(where, sizeof where, "%s:%u: ", c->name, line);
        for (unsigned i = 0; i < v->n; i++) {
            if (!v->items[i].text[0]) {
                ctx_error(c, GOSSIP_ECONFIG, line, "%s: empty passphrase", path);
                return;
            }
            int rc = config_add_key(&c->work, v->items[i].text, where);
            if (rc != 0) {
                ctx_error(c, rc, line, "%s: key derivation failed (%s)", path,
                          gossip_strerror(rc));
                return;
            }
        }
        return;
    }
    case K_SEEDS:
        if (v->n > GOSSIP_MAX_SEEDS) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: more than %d seeds", path,
                      GOSSIP_MAX_SEEDS);
            return;
        }
        c->have_seeds = true;
        c->n_seeds = v->n;
        for (unsigned i = 0; i < v->n; i++) {
            if (!v->items[i].text[0]) {
                ctx_error(c, GOSSIP_ECONFIG, line, "%s: empty address", path);
                return;
            }
            memcpy(c->seeds[i], v->items[i].text, sizeof c->seeds[i]);
        }
        return;
    case K_HEARTBEAT:
    case K_DUR:
        if (!scalar(c, path))
            return;
        if (!parse_duration(s, &u, c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: \"%s\" %s", path, s, c->why);
            return;
        }
        if (u > k->max || (k->kind == K_HEARTBEAT && u < 10)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s is out of range (%s..%llums)", path, s,
                      k->kind == K_HEARTBEAT ? "10ms" : "0ms", k->max);
            return;
        }
        *(uint32_t *)(void *)(base + k->off) = (uint32_t)u;
        return;
    case K_UINT:
        if (!scalar(c, path))
            return;
        if (!parse_u64(s, &u, c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s %s", path, s, c->why);
            return;
        }
        if (u > k->max) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s is out of range (0..%llu)", path, s,
                      k->max);
            return;
        }
        *(unsigned *)(void *)(base + k->off) = (unsigned)u;
        return;
    case K_DOUBLE:
        if (!scalar(c, path))
            return;
        if (!parse_decimal(s, &d, c->why, sizeof c->why)) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s %s", path, s, c->why);
            return;
        }
        if (d > (double)k->max) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: %s is out of range (0..%llu)", path, s,
                      k->max);
            return;
        }
        *(double *)(void *)(base + k->off) = d;
        return;
    }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct ctx *c = user;
    char path[2 * MAX_PATH_LEN + 2];

    (void)section;
    (void)name;
    (void)value;
    if (c->failed || c->oom || !c->key[0])
        return 1;
    if (c->section[0])
        snprintf(path, sizeof path, "%s.%s", c->section, c->key);
    else
        snprintf(path, sizeof path, "%s", c->key);
    if (strncmp(path, "cluster.", 8) != 0)
        return 1;
    c->any_cluster_key = true;
    const char *k = path + 8;
    bool role = strncmp(k, "roles.", 6) == 0;
    const struct keydef *kd = role ? NULL : keydef_find(k, strlen(k));
    if (!role && !kd) {
        /* Unknown keys warn and do not fail: a newer config may still
         * be read by an older library.  Keys of a section already
         * reported as misspelt ([cluster.role.x]) are not repeated. */
        if (!c->section_warned)
            config_log(&c->work, GOSSIP_LOG_WARN, "%s:%u: %s: unknown key, ignored", c->name,
                   c->key_line, path);
        return 1;
    }
    if (!parse_value(c->buf, &c->val, c->why, sizeof c->why)) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: %s", path, c->why);
        return 1;
    }
    if (role) {
        apply_role(c, path, k + 6);
        return 1;
    }
    unsigned *seen = &c->key_lines[kd - keydefs];
    if (*seen) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: set twice (first on line %u)", path,
                  *seen);
        return 1;
    }
    *seen = c->key_line;
    apply_key(c, kd, path);
    return 1;
}

/* The line a validation message is about: it starts with "cluster.KEY". */
static unsigned line_of_message(const struct ctx *c, const char *msg)
{
    if (strncmp(msg, "cluster.", 8) != 0)
        return 0;
    const char *k = msg + 8;
    size_t n = strcspn(k, ": ");
    if (n > 6 && strncmp(k, "roles.", 6) == 0) {
        char name[GOSSIP_ROLE_NAME_MAX];
        if (n - 6 >= sizeof name)
            return 0;
        memcpy(name, k + 6, n - 6);
        name[n - 6] = '\0';
        int idx = find_role(&c->work, name);
        return idx >= 0 ? c->roles[idx].list_line : 0;
    }
    const struct keydef *kd = keydef_find(k, n);
    return kd ? c->key_lines[kd - keydefs] : 0;
}

static void apply_seeds(struct ctx *c)
{
    unsigned line = c->key_lines[keydef_find("seed-nodes", 10) - keydefs];

    if (!c->have_seeds)
        return;
    c->work.n_seeds = 0;
    memset(c->work.seeds, 0, sizeof c->work.seeds);
    for (unsigned i = 0; i < c->n_seeds && !c->failed; i++) {
        int rc = gossip_config_add_seed(&c->work, c->seeds[i]);
        if (rc == GOSSIP_ERANGE)
            ctx_error(c, GOSSIP_ECONFIG, line,
                      "cluster.seed-nodes: \"%s\" has a bad port (1..65535)", c->seeds[i]);
        else if (rc != 0)
            ctx_error(c, GOSSIP_ECONFIG, line,
                      "cluster.seed-nodes: \"%s\" is not an address or a name that resolves",
                      c->seeds[i]);
    }
}

static int load(struct gossip_config *cfg, const char *text, size_t size, const char *name,
                char *err, size_t errlen)
{
    struct ctx *c;
    int rc;

    if (err && errlen > 0)
        err[0] = '\0';
    c = calloc(1, sizeof *c);
    if (!c)
        return GOSSIP_ENOMEM;
    memcpy(&c->work, cfg, sizeof c->work);
    c->name = name;
    c->text = text;
    c->size = size;
    c->next_line = 1;

    rc = ini_parse_stream(reader, c, handler, c);
    if (c->oom || rc == -2)
        ctx_error(c, GOSSIP_ENOMEM, 0, "out of memory");
    else if (rc != 0)
        ctx_error(c, GOSSIP_ECONFIG, 0, "syntax error");
    if (!c->failed)
        apply_seeds(c);
    if (!c->failed) {
        char vmsg[400];
        int vr = gossip_config_validate(&c->work, vmsg, sizeof vmsg);
        if (vr != 0)
            ctx_error(c, vr, line_of_message(c, vmsg), "%s", vmsg);
    }
    if (!c->failed && c->any_cluster_key && !c->key_lines[0] && c->work.node_id == 0)
        config_log(&c->work, GOSSIP_LOG_WARN,
                   "%s: cluster.node-id is not set; this node uses id 0, which must be unique "
                   "in the cluster",
                   name);

    if (c->failed) {
        rc = c->code;
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", c->msg);
    } else {
        rc = GOSSIP_OK;
        memcpy(cfg, &c->work, sizeof *cfg);
    }
    /* Passphrases passed through these buffers and the derived keys
     * through the working copy. */
    if (c->buf)
        explicit_bzero(c->buf, c->buf_cap);
    free(c->buf);
    explicit_bzero(c, sizeof *c);
    free(c);
    return rc;
}

int gossip_config_load_string(struct gossip_config *cfg, const char *text, const char *name,
                              char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!cfg || !text || cfg->size < sizeof *cfg)
        return GOSSIP_EINVAL;
    return load(cfg, text, strlen(text), name ? name : "<string>", err, errlen);
}

int gossip_config_load_file(struct gossip_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc, saved;

    if (err && errlen > 0)
        err[0] = '\0';
    if (!cfg || !path || cfg->size < sizeof *cfg)
        return GOSSIP_EINVAL;
    f = fopen(path, "re");
    if (!f)
        goto io_error;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                fclose(f);
                free(text);
                if (err && errlen > 0)
                    snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
                return GOSSIP_ECONFIG;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            char *nt = realloc(text, ncap + 1);
            if (!nt) {
                fclose(f);
                free(text);
                return GOSSIP_ENOMEM;
            }
            text = nt;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                saved = errno;
                fclose(f);
                free(text);
                errno = saved;
                goto io_error;
            }
            break;
        }
    }
    fclose(f);
    if (!text) {
        text = malloc(1);
        if (!text)
            return GOSSIP_ENOMEM;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        free(text);
        if (err && errlen > 0)
            snprintf(err, errlen, "%s: contains a NUL byte; not a text file", path);
        return GOSSIP_ECONFIG;
    }
    rc = load(cfg, text, len, path, err, errlen);
    explicit_bzero(text, len);
    free(text);
    return rc;

io_error:
    saved = errno;
    if (err && errlen > 0) {
        char ebuf[128];
        snprintf(err, errlen, "%s: %s", path, config_strerror(saved, ebuf, sizeof ebuf));
    }
    errno = saved;
    return GOSSIP_EIO;
}
