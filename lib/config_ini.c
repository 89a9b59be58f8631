/*
 * gossip.conf(5) loader: the [cluster] settings of a TOML-shaped INI file.
 *
 * Who does what.  inih reads the file: it takes it line by line, knows
 * section headers, "name = value" pairs and comment lines, trims blanks,
 * joins continuation lines, and calls handler() with the section, the name
 * and the value of every pair.  Our code parses the values (the TOML-like
 * grammar below: strings, integers, durations, decimals, booleans,
 * arrays), knows the keys, gives typo hints and writes file:line errors.
 *
 * inih as Debian ships it (libinih 55: /usr/include/ini.h and its build):
 *   INI_MAX_LINE 200, INI_USE_STACK 1, no realloc: the reader is handed a
 *     200-byte buffer, and a longer line would become several lines;
 *   MAX_SECTION and MAX_NAME 50 (in ini.c): a section name, and the name
 *     repeated for a continuation line, are cut at 49 bytes;
 *   INI_ALLOW_MULTILINE 1: an indented line after a pair continues its
 *     value (the handler is called again, with the same name);
 *   INI_ALLOW_INLINE_COMMENTS 1 with ";": ';' after a blank ends a value,
 *     inside quotes too; '#' is a comment only at the start of a line;
 *   INI_HANDLER_LINENO 0: the handler is given no line number (Debian's
 *     binary does load one into the register of a fifth argument, but a
 *     handler with five parameters would not be the header's ini_handler
 *     type; built with -DINI_HANDLER_LINENO=1, handler() takes and ignores
 *     it);
 *   INI_CALL_HANDLER_ON_NEW_SECTION 0, INI_ALLOW_NO_VALUE 0,
 *     INI_ALLOW_BOM 1; a name ends at the first '=' or ':'.
 * Debian's build also exposes these settings as process-wide variables
 * (ini_max_line, ini_allow_multiline, ...).  They belong to the host as much
 * as to us, so this file neither writes nor reads them: the reader uses the
 * buffer size inih passes it, and needs no other setting but the default
 * multi-line entries (without them, the loader says so).
 *
 * The reader (a small pre-pass) hands inih the file one inih line per
 * physical line, rewritten only where a TOML form cannot pass through
 * inih as written:
 *   - indented keys (TOML allows them; inih would read an indented
 *     "key = value" as a continuation): a line that starts a key or a
 *     section is handed over without its indentation;
 *   - values over several lines (a multi-line array `seed-nodes = [` ...
 *     `]`, an inline table, another program's multi-line string): the
 *     following lines are handed over indented by one blank, so inih
 *     passes them as continuation lines of the same name, with their own
 *     line numbers; handler() joins them with a blank;
 *   - lines longer than inih's buffer: cut into continuation pieces, at a
 *     blank or after a comma inside an array (joined with a blank), else
 *     between two non-blank characters (joined with nothing: the reader
 *     tells handler() which);
 *   - comments after a value: '#' (TOML's, which inih does not know after
 *     a value) and ';' are removed outside strings, so that inih never
 *     cuts a value and a cut never lands in a comment;
 *   - ';' inside a quoted string (inih would end "a ;b" at the ';'):
 *     written as the TOML escape \u003B; a literal string holding one
 *     becomes the equivalent basic string;
 *   - quoted keys ("node-id" = 1, "a=b" = 1): inih would end the name at
 *     a '=' or ':' inside the quotes.  A quoted part that is a bare key is
 *     unquoted, any other keeps its quotes with '=', ':' and ';' escaped;
 *     handler() decodes it.  Blanks around dots are removed;
 *   - section headers: blanks around dots and quoted parts are written as
 *     the plain dotted name ([ cluster . "roles" ] is [cluster.roles]);
 *     a name longer than 49 bytes is cut at a dot and the rest prepended
 *     to each key of the section (the same TOML path: [a.b.c] k = 1 is
 *     [a.b] c.k = 1);
 *   - a UTF-8 byte order mark and the CR of CRLF: removed;
 *   - what inih cannot take at all (a line without '=' in another
 *     program's section, and the rest of its value): handed over blank.
 *     In a cluster section such a line is an error.
 * Dotted section names need no rewriting: handler() joins section and name
 * into one dotted path.  Inline tables and nested arrays pass through inih
 * unchanged and are refused by the value parser in cluster sections.
 * Line numbers come from the reader: it knows which physical line it handed
 * over last, and inih calls the handler before it asks for the next one
 * (inih's own count would differ where a long line was cut).
 *
 * Every key is seen as a dotted path, TOML style: [cluster] roles.a.b,
 * [cluster.roles] a.b and [cluster.roles.a] b all name cluster.roles.a.b,
 * and a top-level "cluster.key = ..." works as well.  Paths outside
 * "cluster." belong to other programs and are ignored, with a warning only
 * when a section name looks like a misspelt "cluster" ([clutser]).  An
 * evidently misspelt role section ([cluste.roles.x], see
 * classify_section()) is read as the one it means, with a warning.  With
 * GOSSIP_LOAD_STRICT every such warning (and an unknown key or [cluster.*]
 * section, or a key file others may read) is an error.
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

#include "abi.h"
#include "roles.h"

#define MAX_FILE_BYTES (16u << 20) /* a config file, not a database */
#define MAX_ITEMS 64               /* elements of one array value */
#define ITEM_MAX 512               /* bytes of one string element */
#define MAX_PATH_LEN 256           /* dotted key path */
#define INI_SECTION_MAX 49         /* inih keeps this much of a section name */
#define MIN_INI_LINE 64            /* the smallest inih line buffer we can work with */

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

static bool set_why(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return false;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A TOML \uXXXX or \UXXXXXXXX escape (s after the 'u' or 'U'), as UTF-8.
 * NUL, surrogates and values above U+10FFFF are refused. */
static bool unicode_escape(const char **sp, int digits, char *out, size_t cap, size_t *n)
{
    const char *s = *sp;
    uint32_t cp = 0;

    for (int i = 0; i < digits; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return false;
        cp = cp << 4 | (uint32_t)d;
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return false;
    uint8_t b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (*n + k >= cap)
        return false;
    memcpy(out + *n, b, k);
    *n += k;
    *sp = s + digits - 1; /* on the last digit: the caller steps over it */
    return true;
}

/* The body of a basic string, *sp just after its opening quote: escapes
 * decoded into out (NUL-terminated), *sp left after the closing quote. */
static bool basic_string(const char **sp, char *out, size_t cap, char *why, size_t whylen)
{
    const char *s = *sp;
    size_t n = 0;

    for (;; s++) {
        char c = *s;
        if (c == '\0')
            return set_why(why, whylen, "unterminated string (missing closing quote)");
        if (c == '"')
            break;
        if (c == '\\') {
            /* The TOML escapes.  Anything else is a typo worth an error
             * rather than a silently different passphrase. */
            switch (*++s) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case 'b': c = '\b'; break;
            case 't': c = '\t'; break;
            case 'n': c = '\n'; break;
            case 'f': c = '\f'; break;
            case 'r': c = '\r'; break;
            case 'u':
            case 'U': {
                int digits = *s == 'u' ? 4 : 8;
                s++;
                if (!unicode_escape(&s, digits, out, cap, &n))
                    return set_why(why, whylen, n + 4 >= cap ? "string too long"
                                                            : "bad \\u escape in string");
                continue;
            }
            default:
                return set_why(why, whylen,
                               "unsupported escape in string (use \\\", \\\\, \\t, \\n or \\uXXXX)");
            }
        }
        if (n + 1 >= cap)
            return set_why(why, whylen, "string too long");
        out[n++] = c;
    }
    out[n] = '\0';
    *sp = s + 1;
    return true;
}

static bool parse_scalar(const char **sp, bool in_array, struct item *it, char *why, size_t whylen)
{
    const char *s = *sp;
    size_t n = 0;

    memset(it, 0, sizeof *it);
    if ((s[0] == '"' && s[1] == '"' && s[2] == '"') || (s[0] == '\'' && s[1] == '\'' && s[2] == '\''))
        return set_why(why, whylen, "multi-line strings are not supported");
    if (*s == '"') {
        it->quoted = true;
        s++;
        if (!basic_string(&s, it->text, sizeof it->text, why, whylen))
            return false;
        *sp = s;
        return true;
    }
    if (*s == '\'') {
        it->quoted = true;
        for (s++; *s != '\''; s++) {
            if (*s == '\0')
                return set_why(why, whylen, "unterminated string (missing closing quote)");
            if (n + 1 >= sizeof it->text)
                return set_why(why, whylen, "string too long");
            it->text[n++] = *s;
        }
        it->text[n] = '\0';
        *sp = s + 1;
        return true;
    }
    const char *b = s;
    while (*s && !(in_array && (*s == ',' || *s == ']')))
        s++;
    const char *e = s;
    while (e > b && is_blank(e[-1]))
        e--;
    if (e == b)
        return set_why(why, whylen, "missing value");
    n = (size_t)(e - b);
    if (*b == '[' || *b == '{')
        return set_why(why, whylen,
                       in_array ? "nested arrays are not supported" : "inline tables are not supported");
    if (n >= sizeof it->text)
        return set_why(why, whylen, "value too long");
    memcpy(it->text, b, n);
    it->text[n] = '\0';
    *sp = s;
    return true;
}

/* A whole value as inih hands it over (comments already removed by the
 * reader): a scalar or an array of scalars. */
static bool parse_value(const char *text, struct value *v, char *why, size_t whylen)
{
    const char *s = skip_blank(text);

    memset(v, 0, offsetof(struct value, items));
    if (*s == '\0')
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
            if (*s == '\0')
                return set_why(why, whylen, "unterminated array (missing ']')");
            if (v->n >= MAX_ITEMS)
                return set_why(why, whylen, "too many elements in the array");
            if (!parse_scalar(&s, true, &v->items[v->n], why, whylen))
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
            if (*s == '\0')
                return set_why(why, whylen, "unterminated array (missing ']')");
            return set_why(why, whylen, "expected ',' or ']' between array elements");
        }
    } else {
        if (!parse_scalar(&s, false, &v->items[0], why, whylen))
            return false;
        v->n = 1;
    }
    s = skip_blank(s);
    if (*s)
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
    K_KEYFILE,   /* path or array of paths */
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
    {"key-file", K_KEYFILE, 0, 0},
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
    {"max-clock-skew", K_DUR, F(max_clock_skew_ms), UINT32_MAX},
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

/* One physical line as the reader hands it to inih, possibly in pieces. */
struct line_out {
    char *text;          /* the rewritten line */
    uint8_t *soft;       /* soft[i]: a cut before text[i] is whitespace in an array */
    size_t len, cap;
    size_t pos;          /* how much of it inih has been given */
    size_t vstart;       /* where the value starts (a cut must come after the '=') */
    unsigned line;       /* its physical line number */
    bool ready;          /* not yet (completely) handed over */
    bool cont;           /* a line inside a value: every piece is a continuation */
    bool ours;           /* in a cluster section: a line that cannot be cut is an error */
    bool last;           /* the value of its key ends on this line */
    bool glue;           /* the next piece continues the previous one without a blank */
};

struct ctx {
    struct gossip_config work;   /* the caller's config with the file applied */
    const char *name;            /* file name for messages */
    const char *file;            /* the file's path (NULL for a string) ... */
    size_t dir_len;              /* ... and the length of its directory part */

    /* The reader. */
    const char *text;
    size_t pos, size;
    unsigned next_line;          /* physical line number of the next read */
    struct line_out out;
    size_t room;                 /* bytes of a line inih can take, less '\n' and NUL */
    char section[MAX_PATH_LEN];  /* the current section, as a plain dotted name */
    char sec_tail[MAX_PATH_LEN]; /* the part of it cut off inih's header: prepended to keys */
    bool sec_ours;               /* its keys are cluster.* keys */
    bool strict;                 /* GOSSIP_LOAD_STRICT */
    bool pending;                /* the value of the last key goes on on the next line */
    bool pending_ours;           /* ... and it is a key of ours */
    bool drop;                   /* ... and it was not handed to inih, nor is the rest */
    int depth;                   /* [ ] { } nesting of the pending value */
    char str;                    /* open multi-line string: 0, 'D' (""") or 'L' (''') */

    /* What the reader says about the line inih is processing now. */
    unsigned cur_line;
    bool cur_cont, cur_glue, cur_last;

    /* The key handler() is collecting. */
    bool open;
    char path[2 * MAX_PATH_LEN + 2];
    char ini_name[INI_SECTION_MAX + 1]; /* the name as inih repeats it */
    unsigned key_line;
    char *vtext;                 /* its value, pieces joined */
    size_t vtext_len, vtext_cap;

    bool failed;
    int code;
    char msg[512];

    unsigned key_lines[N_KEYDEFS];
    struct role_seen roles[GOSSIP_MAX_ROLES];
    bool any_cluster_key;

    /* key and key-file are applied after the whole file too: a passphrase
     * is salted with cluster-label, which may come after it.  The
     * passphrases (or file names) wait here, wiped with the context. */
    unsigned key_kind;           /* 0 (none in the file), K_KEY or K_KEYFILE */
    unsigned keys_line;
    unsigned n_pending;
    char key_items[GOSSIP_MAX_KEYS][4096];

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

static void oom(struct ctx *c)
{
    ctx_error(c, GOSSIP_ENOMEM, 0, "out of memory");
}

/* Grow a buffer that may hold a passphrase: the old copy is wiped. */
static bool grow(struct ctx *c, char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    char *nb = malloc(ncap);
    if (!nb) {
        oom(c);
        return false;
    }
    if (*buf) {
        memcpy(nb, *buf, *cap);
        explicit_bzero(*buf, *cap);
        free(*buf);
    }
    *buf = nb;
    *cap = ncap;
    return true;
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

static unsigned distance(const char *a, size_t la, const char *word)
{
    return osa_distance(a, la, word, strlen(word));
}

static bool near(const char *a, size_t la, const char *word)
{
    unsigned dist = distance(a, la, word);
    return dist >= 1 && dist <= 2;
}

/* What a section header means to us.  "Evidently misspelt" is a name whose
 * first two parts are, together, one or two typing mistakes (a missing,
 * extra, wrong or swapped letter) away from "cluster.roles": its keys can
 * only be role lists, so the loader reads them as such (in strict mode it
 * refuses the file).  A name one or two mistakes from "cluster" alone is
 * only a guess ([clusters] may be another program's): ignored with a
 * warning, or refused in strict mode. */
enum sec_kind {
    SEC_FOREIGN,       /* another program's */
    SEC_OURS,          /* [cluster], [cluster.roles], [cluster.roles.*] */
    SEC_OURS_UNKNOWN,  /* [cluster.something-else]: its keys are unknown keys */
    SEC_ROLE_TYPO,     /* an evidently misspelt [cluster.roles...] */
    SEC_CLUSTER_TYPO,  /* probably a misspelt [cluster...] */
};

static enum sec_kind classify_section(const char *sec, char *fixed, size_t fixedlen)
{
    const char *dot = strchr(sec, '.');
    size_t l1 = dot ? (size_t)(dot - sec) : strlen(sec);
    const char *c2 = dot ? dot + 1 : NULL;
    const char *dot2 = c2 ? strchr(c2, '.') : NULL;
    size_t l2 = c2 ? (dot2 ? (size_t)(dot2 - c2) : strlen(c2)) : 0;
    const char *rest = dot2 ? dot2 : "";
    unsigned d1 = distance(sec, l1, "cluster");
    unsigned d2 = c2 ? distance(c2, l2, "roles") : 99;

    fixed[0] = '\0';
    if (d1 == 0) {
        if (!c2 || d2 == 0)
            return SEC_OURS;
        if (d2 <= 2) {
            snprintf(fixed, fixedlen, "cluster.roles%s", rest);
            return SEC_ROLE_TYPO;
        }
        return SEC_OURS_UNKNOWN;
    }
    if (d1 > 2)
        return SEC_FOREIGN;
    if (c2 && d1 + d2 <= 2) {
        snprintf(fixed, fixedlen, "cluster.roles%s", rest);
        return SEC_ROLE_TYPO;
    }
    if (c2 && d2 <= 2)
        snprintf(fixed, fixedlen, "cluster.roles%s", rest);
    else if (c2)
        snprintf(fixed, fixedlen, "cluster.%s", c2);
    else
        snprintf(fixed, fixedlen, "cluster");
    return SEC_CLUSTER_TYPO;
}

/* "did you mean": the known key an unknown one most probably stands for,
 * or NULL.  Tried in turn: the same key in another case or with '_' for
 * '-' (node_id); one or two typing mistakes (bind-adr); the longest common
 * start of at least 4 characters and half the shorter name (bind-adress,
 * heartbeat-ms, seeds for seed-nodes); the words other tools use (peers,
 * secret, port). */
static const char *suggest_key(const char *k)
{
    static const struct {
        const char *word, *key;
    } aliases[] = {
        {"peers", "seed-nodes"}, {"members", "seed-nodes"}, {"join", "seed-nodes"},
        {"secret", "key"},       {"psk", "key"},            {"password", "key"},
        {"passphrase", "key"},   {"port", "bind-port"},     {"address", "bind-addr"},
        {"addr", "bind-addr"},   {"listen", "bind-addr"},   {"id", "node-id"},
        {"name", "cluster-label"}, {"label", "cluster-label"}, {"interval", "heartbeat"},
    };
    char norm[MAX_PATH_LEN];
    size_t n = strlen(k);

    if (n == 0 || n >= sizeof norm)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        char ch = k[i];
        if (ch == '_')
            ch = '-';
        else if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        norm[i] = ch;
    }
    for (size_t i = 0; i < N_KEYDEFS; i++)
        if (strcmp(norm, keydefs[i].name) == 0)
            return keydefs[i].name;
    unsigned best = 99, limit = n >= 5 ? 2 : n >= 3 ? 1 : 0;
    const char *pick = NULL;
    for (size_t i = 0; i < N_KEYDEFS; i++) {
        unsigned d = distance(norm, n, keydefs[i].name);
        if (d <= limit && d < best) {
            best = d;
            pick = keydefs[i].name;
        }
    }
    if (pick)
        return pick;
    size_t best_lcp = 3;
    for (size_t i = 0; i < N_KEYDEFS; i++) {
        const char *kn = keydefs[i].name;
        size_t lcp = 0, kl = strlen(kn);
        while (norm[lcp] && norm[lcp] == kn[lcp])
            lcp++;
        if (lcp > best_lcp && 2 * lcp >= (n < kl ? n : kl)) {
            best_lcp = lcp;
            pick = kn;
        }
    }
    if (pick)
        return pick;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(norm, aliases[i].word) == 0)
            return aliases[i].key;
    return NULL;
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

/* --- the reader: TOML lines as inih can take them -------------------------- */

static bool out_put(struct ctx *c, char ch, bool soft)
{
    struct line_out *o = &c->out;
    if (o->len + 2 > o->cap) {
        size_t cap = o->cap;
        if (!grow(c, &o->text, &cap, o->len + 2))
            return false;
        uint8_t *ns = realloc(o->soft, cap);
        if (!ns) {
            oom(c);
            return false;
        }
        o->soft = ns;
        o->cap = cap;
    }
    o->soft[o->len] = soft;
    o->text[o->len++] = ch;
    o->text[o->len] = '\0';
    return true;
}

static bool out_puts(struct ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!out_put(c, s[i], false))
            return false;
    return true;
}

static void out_start(struct ctx *c, unsigned line)
{
    struct line_out *o = &c->out;
    o->len = o->pos = o->vstart = 0;
    if (o->text)
        o->text[0] = '\0';
    o->line = line;
    o->ready = true;
    o->cont = o->ours = o->glue = false;
    o->last = true;
}

static bool bare_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

/* A key part or section part that is not a bare key, as a basic string in
 * which nothing looks like inih syntax. */
static bool out_quoted(struct ctx *c, const char *s)
{
    if (!out_put(c, '"', false))
        return false;
    for (; *s; s++) {
        char esc[8];
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            esc[2] = '\0';
        } else if (ch == '=' || ch == ':' || ch == ';' || ch == '[' || ch == ']' || ch < 0x20 ||
                   ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04X", ch);
        } else {
            esc[0] = (char)ch;
            esc[1] = '\0';
        }
        if (!out_puts(c, esc, strlen(esc)))
            return false;
    }
    return out_put(c, '"', false);
}

/* One value piece of a physical line: strings kept whole (with ';' written
 * as \u003B), comments dropped, brackets counted, and the places a long
 * line may be cut marked.  Updates the open multi-line string and the
 * nesting, which carry over to the next line. */
static bool scan_value(struct ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        char ch = s[i];
        if (c->str) {
            char q = c->str == 'D' ? '"' : '\'';
            if (ch == '\\' && q == '"' && i + 1 < n) {
                if (!out_puts(c, s + i, 2))
                    return false;
                i += 2;
            } else if (ch == q && i + 2 < n && s[i + 1] == q && s[i + 2] == q) {
                if (!out_puts(c, s + i, 3))
                    return false;
                i += 3;
                c->str = 0;
            } else {
                if (!out_put(c, ch, false))
                    return false;
                i++;
            }
            continue;
        }
        char prev = ' ';
        if (c->out.len)
            prev = c->out.text[c->out.len - 1];
        bool in_array = c->depth > 0;
        bool soft = in_array && (is_blank(prev) || prev == ',' || prev == '[' || prev == '{' ||
                                 is_blank(ch) || ch == ']' || ch == '}' || ch == ',');
        if (ch == '"' || ch == '\'') {
            if (i + 2 < n && s[i + 1] == ch && s[i + 2] == ch) {
                c->str = ch == '"' ? 'D' : 'L';
                if (!out_put(c, ch, soft) || !out_puts(c, s + i + 1, 2))
                    return false;
                i += 3;
                continue;
            }
            size_t j = i + 1;
            bool semi = false;
            while (j < n && s[j] != ch) {
                if (ch == '"' && s[j] == '\\' && j + 1 < n)
                    j++;
                else if (s[j] == ';')
                    semi = true;
                j++;
            }
            if (j >= n) {
                /* Unterminated: kept as it is, for the value parser to
                 * say so (a one-line string never continues). */
                if (!out_put(c, ch, soft) || !out_puts(c, s + i + 1, n - i - 1))
                    return false;
                i = n;
                continue;
            }
            if (ch == '\'' && !semi) {
                /* a literal string inih takes as it is */
                if (!out_put(c, ch, soft) || !out_puts(c, s + i + 1, j - i))
                    return false;
                i = j + 1;
                continue;
            }
            /* A basic string, or a literal one holding a ';' written as
             * the same basic string: every ';' as \u003B. */
            if (!out_put(c, '"', soft))
                return false;
            for (size_t k = i + 1; k < j; k++) {
                char sc = s[k];
                if (ch == '"' && sc == '\\') {
                    if (!out_puts(c, s + k, 2))
                        return false;
                    k++;
                } else if (sc == ';') {
                    if (!out_puts(c, "\\u003B", 6))
                        return false;
                } else if (ch == '\'' && (sc == '\\' || sc == '"')) {
                    if (!out_put(c, '\\', false) || !out_put(c, sc, false))
                        return false;
                } else if (!out_put(c, sc, false)) {
                    return false;
                }
            }
            if (!out_put(c, '"', false))
                return false;
            i = j + 1;
            continue;
        }
        if ((ch == '#' || ch == ';') && (i == 0 || is_blank(s[i - 1])))
            break; /* a comment, to the end of the line */
        if (ch == '[' || ch == '{')
            c->depth++;
        else if ((ch == ']' || ch == '}') && c->depth > 0)
            c->depth--;
        if (!out_put(c, ch, soft))
            return false;
        i++;
    }
    while (c->out.len > c->out.vstart && is_blank(c->out.text[c->out.len - 1]))
        c->out.text[--c->out.len] = '\0';
    return true;
}

/* Parse a dotted TOML key (bare or quoted parts, blanks around dots) into
 * its plain dotted form; false when it is not one. */
static bool dotted_key(const char *s, size_t n, char *out, size_t outlen)
{
    char part[MAX_PATH_LEN], tmp[MAX_PATH_LEN + 2];
    size_t o = 0, i = 0;
    char why[8];

    for (;;) {
        while (i < n && is_blank(s[i]))
            i++;
        size_t pn = 0;
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            char q = s[i];
            size_t j = i + 1;
            while (j < n && s[j] != q) {
                if (q == '"' && s[j] == '\\' && j + 1 < n)
                    j++;
                j++;
            }
            if (j >= n || j - i + 1 >= sizeof tmp)
                return false;
            if (q == '"') {
                memcpy(tmp, s + i + 1, j - i);
                tmp[j - i] = '\0'; /* up to and with the closing quote */
                const char *t = tmp;
                if (!basic_string(&t, part, sizeof part, why, sizeof why))
                    return false;
                pn = strlen(part);
            } else {
                pn = j - i - 1;
                memcpy(part, s + i + 1, pn);
                part[pn] = '\0';
            }
            i = j + 1;
        } else {
            while (i < n && bare_char(s[i]) && pn + 1 < sizeof part)
                part[pn++] = s[i++];
            part[pn] = '\0';
        }
        if (pn == 0 || o + pn + 2 >= outlen)
            return false;
        if (o)
            out[o++] = '.';
        memcpy(out + o, part, pn);
        o += pn;
        out[o] = '\0';
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n)
            return true;
        if (s[i] != '.')
            return false;
        i++;
    }
}

/* Write a plain dotted name with each part bare or quoted as inih needs. */
static bool out_dotted(struct ctx *c, const char *name)
{
    char part[MAX_PATH_LEN];

    while (*name) {
        size_t n = strcspn(name, ".");
        bool bare = n > 0;
        for (size_t i = 0; i < n; i++)
            bare = bare && bare_char(name[i]);
        if (n >= sizeof part)
            n = sizeof part - 1;
        memcpy(part, name, n);
        part[n] = '\0';
        if (!(bare ? out_puts(c, part, n) : out_quoted(c, part)))
            return false;
        name += n;
        if (*name == '.') {
            name++;
            if (!out_put(c, '.', false))
                return false;
        }
    }
    return true;
}

/* A string into a bounded buffer, cut to fit (snprintf("%s") would do the
 * same, but GCC warns about the cut at -O1 and a cut is what we want). */
static void copy_cut(char *out, size_t outlen, const char *s)
{
    size_t n = strnlen(s, outlen - 1);
    memmove(out, s, n);
    out[n] = '\0';
}

static void copy_trimmed(char *out, size_t outlen, const char *s, size_t n)
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

static bool is_cluster_path(const char *p)
{
    return strcmp(p, "cluster") == 0 || strncmp(p, "cluster.", 8) == 0;
}

static void section_line(struct ctx *c, const char *p, size_t n, unsigned line)
{
    bool table_array = n > 1 && p[1] == '[';
    size_t i = table_array ? 2 : 1, end;
    char q = 0;
    char name[MAX_PATH_LEN], sugg[MAX_PATH_LEN + 16];

    for (end = i; end < n; end++) {
        if (q) {
            if (p[end] == '\\' && q == '"')
                end++;
            else if (p[end] == q)
                q = 0;
        } else if (p[end] == '"' || p[end] == '\'') {
            q = p[end];
        } else if (p[end] == ']') {
            break;
        }
    }
    if (end >= n) {
        c->section[0] = '\0';
        ctx_error(c, GOSSIP_ECONFIG, line, "missing ']' in section header");
        return;
    }
    if (!dotted_key(p + i, end - i, name, sizeof name))
        copy_trimmed(name, sizeof name, p + i, end - i);
    c->sec_tail[0] = '\0';
    if (table_array) {
        /* [[array of tables]] belongs to other programs: keep its name with
         * the bracket so it never matches ours. */
        c->section[0] = '[';
        copy_cut(c->section + 1, sizeof c->section - 1, name);
        c->sec_ours = false;
        if (!out_puts(c, "[[", 2))
            return;
        for (size_t k = 0; k < INI_SECTION_MAX - 2 && name[k]; k++) {
            char ch = name[k];
            if (ch == ']' || ch == ';')
                ch = '_';
            if (!out_put(c, ch, false))
                return;
        }
        out_puts(c, "]]", 2);
        return;
    }
    copy_cut(c->section, sizeof c->section, name);
    switch (classify_section(name, sugg, sizeof sugg)) {
    case SEC_FOREIGN:
    case SEC_OURS:
        break;
    case SEC_OURS_UNKNOWN:
        if (c->strict)
            ctx_error(c, GOSSIP_ECONFIG, line,
                      "unknown section [%s] (the cluster sections are [cluster] and "
                      "[cluster.roles.*])",
                      name);
        break;
    case SEC_ROLE_TYPO:
        if (c->strict) {
            ctx_error(c, GOSSIP_ECONFIG, line, "section [%s] is misspelt; did you mean [%s]?", name,
                      sugg);
            break;
        }
        /* Its keys can only be role lists: left out, they would leave the
         * roles with no list, held by every node (acme.renew and
         * metrics.push included).  Read it as what it evidently means. */
        config_log(&c->work, GOSSIP_LOG_WARN, "%s:%u: section [%s] is read as [%s]; fix its name",
                   c->name, line, name, sugg);
        copy_cut(name, sizeof name, sugg);
        copy_cut(c->section, sizeof c->section, sugg);
        break;
    case SEC_CLUSTER_TYPO:
        if (c->strict) {
            ctx_error(c, GOSSIP_ECONFIG, line, "unknown section [%s]; did you mean [%s]?", name,
                      sugg);
            break;
        }
        config_log(&c->work, GOSSIP_LOG_WARN, "%s:%u: section [%s] is ignored; did you mean [%s]?",
                   c->name, line, name, sugg);
        break;
    }
    if (c->failed)
        return;
    c->sec_ours = is_cluster_path(c->section);

    /* inih keeps 49 bytes of a section name: cut a longer one at a dot and
     * give the rest to the keys. */
    size_t keep = strlen(name);
    if (keep > INI_SECTION_MAX) {
        keep = INI_SECTION_MAX;
        while (keep > 0 && name[keep] != '.')
            keep--;
        if (keep == 0)
            keep = INI_SECTION_MAX; /* one long part: not ours, cut it */
        else
            snprintf(c->sec_tail, sizeof c->sec_tail, "%s", name + keep + 1);
        name[keep] = '\0';
    }
    if (out_put(c, '[', false) && out_dotted(c, name))
        out_put(c, ']', false);
}

/* A "key = value" line: the separator is the first '=' outside quotes. */
static void key_line(struct ctx *c, const char *p, size_t n, unsigned line)
{
    char key[MAX_PATH_LEN], full[2 * MAX_PATH_LEN + 2];
    size_t i;
    char q = 0;

    for (i = 0; i < n; i++) {
        if (q) {
            if (p[i] == '\\' && q == '"' && i + 1 < n)
                i++;
            else if (p[i] == q)
                q = 0;
        } else if (p[i] == '"' || p[i] == '\'') {
            q = p[i];
        } else if (p[i] == '=') {
            break;
        }
    }
    if (i == n) {
        if (c->sec_ours)
            ctx_error(c, GOSSIP_ECONFIG, line, "expected \"key = value\"");
        return; /* not a pair: handed over blank */
    }
    if (!dotted_key(p, i, key, sizeof key)) {
        /* Not a TOML key: kept as one quoted part, so that a cluster
         * section reports it as an unknown key. */
        copy_trimmed(key, sizeof key, p, i);
        if (!key[0]) {
            if (c->sec_ours)
                ctx_error(c, GOSSIP_ECONFIG, line, "missing key before '='");
            c->drop = true;
        }
    }
    if (c->sec_tail[0])
        snprintf(full, sizeof full, "%s.%s", c->sec_tail, key);
    else
        snprintf(full, sizeof full, "%s", key);
    c->out.ours = c->sec_ours || (!c->section[0] && strncmp(full, "cluster.", 8) == 0);

    c->depth = 0;
    c->str = 0;
    if (!c->drop) {
        /* a name that is not a bare key goes over as one quoted part */
        bool plain = true;
        for (const char *k = full; *k && plain; k++)
            plain = bare_char(*k) || *k == '.';
        if (!(plain ? out_puts(c, full, strlen(full)) : out_dotted(c, full)))
            return;
        if (!out_puts(c, " = ", 3))
            return;
        if (c->out.len + 1 >= c->room) {
            if (c->out.ours)
                ctx_error(c, GOSSIP_ECONFIG, line, "%s: key too long", full);
            c->drop = true;
        }
    }
    c->out.vstart = c->out.len;
    if (!scan_value(c, p + i + 1, n - i - 1))
        return;
    c->pending = c->depth > 0 || c->str;
    c->pending_ours = c->out.ours;
    c->out.last = !c->pending;
    if (c->drop)
        c->out.len = 0;
}

/* Prepare the next physical line in c->out; false at the end of the text. */
static bool next_line(struct ctx *c)
{
    const char *s;
    size_t n;

    if (!next_physical(c, &s, &n))
        return false;
    out_start(c, c->next_line - 1);
    if (c->pending) {
        c->out.cont = true;
        c->out.ours = c->pending_ours;
        while (n > 0 && is_blank(*s) && !c->str) {
            s++;
            n--;
        }
        if (!scan_value(c, s, n))
            return false;
        c->pending = c->depth > 0 || c->str;
        c->out.last = !c->pending;
        if (c->drop) {
            c->out.len = 0;
            if (!c->pending)
                c->drop = false;
        }
        return true;
    }
    c->drop = false;
    while (n > 0 && is_blank(*s)) {
        s++;
        n--;
    }
    if (n == 0)
        return true;
    if (*s == '#' || *s == ';') {
        /* a comment line: inih drops it (cut to its buffer, never in pieces) */
        c->out.ours = false;
        return out_puts(c, s, n < MIN_INI_LINE - 2 ? n : MIN_INI_LINE - 2);
    }
    if (*s == '[') {
        section_line(c, s, n, c->out.line);
        return !c->failed;
    }
    key_line(c, s, n, c->out.line);
    return !c->failed;
}

/* Hand inih the next piece of c->out: at most `room` bytes, cut at a blank
 * or comma in an array, else between two non-blank characters. */
static char *emit_piece(struct ctx *c, char *str, size_t room)
{
    struct line_out *o = &c->out;
    bool first = o->pos == 0 && !o->cont;
    size_t cap = first ? room : room - 1; /* continuations get a leading blank */
    size_t cut = o->len;
    bool glue = false;

    if (o->len - o->pos > cap) {
        size_t lo = o->pos + 1 > o->vstart ? o->pos + 1 : o->vstart;
        size_t p;
        cut = 0;
        for (p = o->pos + cap; p >= lo && p > o->pos; p--)
            if (o->soft[p]) {
                cut = p;
                break;
            }
        for (p = o->pos + cap; !cut && p >= lo && p > o->pos; p--) {
            char a = o->text[p - 1], b = o->text[p];
            if (!is_blank(a) && !is_blank(b) && b != '#' && b != ';') {
                cut = p;
                glue = true;
            }
        }
        if (!cut) {
            if (o->ours) {
                ctx_error(c, GOSSIP_ECONFIG, o->line,
                          "line too long for inih's %zu-byte line buffer, and no place to cut it",
                          room + 2);
                return NULL;
            }
            cut = o->pos + cap; /* another program's line: its content does not matter */
        }
    }
    size_t n = cut - o->pos;
    char *w = str;
    if (!first)
        *w++ = ' ';
    memcpy(w, o->text + o->pos, n);
    w[n] = '\n';
    w[n + 1] = '\0';
    c->cur_line = o->line;
    c->cur_cont = !first;
    c->cur_glue = o->glue;
    c->cur_last = cut == o->len && o->last;
    o->glue = glue;
    o->pos = cut;
    if (o->pos >= o->len)
        o->ready = false;
    return str;
}

/* The ini_reader. */
static char *reader(char *str, int num, void *stream)
{
    struct ctx *c = stream;

    if (c->failed)
        return NULL;
    if (num < MIN_INI_LINE) {
        ctx_error(c, GOSSIP_ECONFIG, 0, "inih's line buffer (%d bytes) is too small", num);
        return NULL;
    }
    c->room = (size_t)num - 2; /* a piece, '\n' and NUL */
    while (!c->out.ready)
        if (!next_line(c))
            return NULL;
    if (c->out.len == 0) {
        c->out.ready = false;
        c->cur_line = c->out.line;
        c->cur_cont = c->cur_glue = c->cur_last = false;
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    return emit_piece(c, str, c->room);
}

/* --- applying keys ------------------------------------------------------- */

static int find_role(const struct gossip_config *w, const char *name)
{
    for (unsigned i = 0; i < w->n_roles && i < GOSSIP_MAX_ROLES; i++)
        if (strcmp(w->roles[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* A role the file names for the first time. */
static bool declare_role(struct ctx *c, const char *path, const char *name, unsigned line,
                         unsigned *idx)
{
    /* A new role one typing mistake from a declared one (purge.stors) is
     * probably that one: its list would be lost, and the declared role
     * held by every node. */
    for (unsigned i = 0; i < c->work.n_roles && i < GOSSIP_MAX_ROLES; i++) {
        const char *known = c->work.roles[i].name;
        if (distance(name, strlen(name), known) != 1)
            continue;
        if (c->strict) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: unknown role %s; did you mean %s?", path, name,
                      known);
            return false;
        }
        config_log(&c->work, GOSSIP_LOG_WARN, "%s:%u: %s: declares a new role %s; did you mean %s?",
                   c->name, line, path, name, known);
        break;
    }
    if (gossip_config_set_role(&c->work, name, NULL, 0, 0) != 0 || c->work.n_roles == 0) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: too many roles (at most %d)", path,
                  GOSSIP_MAX_ROLES);
        return false;
    }
    *idx = c->work.n_roles - 1;
    return true;
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
    int found = find_role(&c->work, name);
    unsigned idx;
    if (found >= 0)
        idx = (unsigned)found;
    else if (!declare_role(c, path, name, line, &idx))
        return;
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
            /* stores.failovr = false: a misspelt option read as a role */
            const char *last = strrchr(name, '.');
            char hint[80] = "";
            if (last && (near(last + 1, strlen(last + 1), "failover") ||
                         near(last + 1, strlen(last + 1), "quorum")))
                snprintf(hint, sizeof hint, "; did you mean %.*s.%s?", (int)(last - name), name,
                         near(last + 1, strlen(last + 1), "failover") ? "failover" : "quorum");
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: node id %s %s (ids are 0..%llu)%s", path,
                      v->items[i].text, c->why, (unsigned long long)UINT64_MAX, hint);
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

/* key-file = PATH or [PATH, ...]: relative to the directory of the file
 * being loaded (the working directory for a string).  Kept for the end. */
static void take_key_files(struct ctx *c, const char *path)
{
    const struct value *v = &c->val;
    unsigned line = c->key_line;

    if (v->n == 0) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: the keyring needs at least one file", path);
        return;
    }
    if (v->n > GOSSIP_MAX_KEYS) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: more than %d keys", path, GOSSIP_MAX_KEYS);
        return;
    }
    for (unsigned i = 0; i < v->n; i++) {
        const char *f = v->items[i].text;
        char *full = c->key_items[i];
        if (!f[0]) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: empty file name", path);
            return;
        }
        size_t dir = f[0] != '/' && c->dir_len > 0 ? c->dir_len + 1 : 0, flen = strlen(f);
        if (dir + flen >= sizeof c->key_items[i]) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: \"%s\": path too long", path, f);
            return;
        }
        if (dir) {
            memcpy(full, c->file, c->dir_len);
            full[c->dir_len] = '/';
        }
        memcpy(full + dir, f, flen + 1);
    }
    c->key_kind = K_KEYFILE;
    c->keys_line = line;
    c->n_pending = v->n;
}

/* key = PASSPHRASE or [PASSPHRASE, ...], kept for the end. */
static void take_passphrases(struct ctx *c, const char *path)
{
    const struct value *v = &c->val;
    unsigned line = c->key_line;

    if (v->n == 0) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: the keyring needs at least one passphrase", path);
        return;
    }
    if (v->n > GOSSIP_MAX_KEYS) {
        ctx_error(c, GOSSIP_ECONFIG, line, "%s: more than %d keys", path, GOSSIP_MAX_KEYS);
        return;
    }
    for (unsigned i = 0; i < v->n; i++) {
        if (!v->items[i].text[0]) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: empty passphrase", path);
            return;
        }
        /* an item is at most ITEM_MAX bytes: it fits */
        memcpy(c->key_items[i], v->items[i].text, strlen(v->items[i].text) + 1);
    }
    c->key_kind = K_KEY;
    c->keys_line = line;
    c->n_pending = v->n;
}

/* The file's keyring, now that cluster-label is final: it replaces the
 * old one (appending on every reload would fill it up).  Passphrases come
 * from the config's key cache when it holds them under this label. */
static void apply_keys(struct ctx *c)
{
    const char *path = c->key_kind == K_KEY ? "cluster.key" : "cluster.key-file";
    unsigned line = c->keys_line;
    char where[300], why[256];

    if (!c->key_kind)
        return;
    explicit_bzero(c->work.keys, sizeof c->work.keys);
    c->work.n_keys = 0;
    snprintf(where, sizeof where, "%s:%u: ", c->name, line);
    for (unsigned i = 0; i < c->n_pending && !c->failed; i++) {
        const char *item = c->key_items[i];
        int rc;
        if (c->key_kind == K_KEYFILE) {
            rc = config_add_key_file(&c->work, item, c->strict, where, why, sizeof why);
            if (rc != 0)
                ctx_error(c, rc == GOSSIP_EIO ? GOSSIP_EIO : GOSSIP_ECONFIG, line, "%s: %s: %s",
                          path, item, why);
        } else if ((rc = config_add_key(&c->work, item, where)) != 0) {
            ctx_error(c, rc, line, "%s: key derivation failed (%s)", path, gossip_strerror(rc));
        }
    }
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
    case K_KEY:
    case K_KEYFILE: {
        /* key and key-file both make the keyring: with both, which key
         * seals would be a guess */
        const struct keydef *other = keydef_find(k->kind == K_KEY ? "key-file" : "key",
                                                 k->kind == K_KEY ? 8 : 3);
        unsigned other_line = other ? c->key_lines[other - keydefs] : 0;
        if (other_line) {
            ctx_error(c, GOSSIP_ECONFIG, line, "%s: cannot be used with cluster.%s (line %u)", path,
                      other->name, other_line);
            return;
        }
        if (k->kind == K_KEYFILE)
            take_key_files(c, path);
        else
            take_passphrases(c, path);
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

/* --- the handler ------------------------------------------------------------ */

/* The key collected so far is complete: parse its value and apply it. */
static void finish_key(struct ctx *c)
{
    if (!c->open || c->failed)
        return;
    c->open = false;
    const char *path = c->path;
    const char *k = path + 8; /* after "cluster." */
    bool role = strncmp(k, "roles.", 6) == 0;
    const struct keydef *kd = role ? NULL : keydef_find(k, strlen(k));
    c->any_cluster_key = true;
    if (!role && !kd) {
        /* Unknown keys warn and do not fail: a newer config may still be
         * read by an older library.  In strict mode they are errors. */
        char hint[96] = "";
        const char *sugg = suggest_key(k);
        if (sugg)
            snprintf(hint, sizeof hint, "; did you mean cluster.%s?", sugg);
        if (c->strict)
            ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: unknown key%s", path, hint);
        else
            config_log(&c->work, GOSSIP_LOG_WARN, "%s:%u: %s: unknown key, ignored%s", c->name,
                       c->key_line, path, hint);
        return;
    }
    if (!parse_value(c->vtext ? c->vtext : "", &c->val, c->why, sizeof c->why)) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: %s", path, c->why);
        return;
    }
    if (role) {
        apply_role(c, path, k + 6);
        return;
    }
    unsigned *seen = &c->key_lines[kd - keydefs];
    if (*seen) {
        ctx_error(c, GOSSIP_ECONFIG, c->key_line, "%s: set twice (first on line %u)", path,
                  *seen);
        return;
    }
    *seen = c->key_line;
    apply_key(c, kd, path);
}

static bool vtext_append(struct ctx *c, const char *sep, const char *s)
{
    size_t a = strlen(sep), b = strlen(s);
    if (!grow(c, &c->vtext, &c->vtext_cap, c->vtext_len + a + b + 1))
        return false;
    memcpy(c->vtext + c->vtext_len, sep, a);
    memcpy(c->vtext + c->vtext_len + a, s, b);
    c->vtext_len += a + b;
    c->vtext[c->vtext_len] = '\0';
    return true;
}

/* A new pair from inih: its dotted path is section.name. */
static void begin_key(struct ctx *c, const char *section, const char *name, const char *value)
{
    char key[2 * MAX_PATH_LEN];

    if (!dotted_key(name, strlen(name), key, sizeof key))
        snprintf(key, sizeof key, "%s", name);
    if (section[0])
        snprintf(c->path, sizeof c->path, "%s.%s", section, key);
    else
        snprintf(c->path, sizeof c->path, "%s", key);
    if (strncmp(c->path, "cluster.", 8) != 0) {
        /* Another program's key, unless a top-level key's first part is a
         * misspelt "cluster" (cluste.key = ...). */
        size_t l1 = strcspn(c->path, ".");
        if (!section[0] && c->path[l1] == '.' && near(c->path, l1, "cluster")) {
            if (c->strict)
                ctx_error(c, GOSSIP_ECONFIG, c->cur_line, "%s: unknown key; did you mean cluster%s?",
                          c->path, c->path + l1);
            else
                config_log(&c->work, GOSSIP_LOG_WARN,
                           "%s:%u: %s is ignored; did you mean cluster%s?", c->name, c->cur_line,
                           c->path, c->path + l1);
        }
        return;
    }
    c->open = true;
    c->key_line = c->cur_line;
    c->vtext_len = 0;
    vtext_append(c, "", value);
}

/* inih calls this for every pair, and again with the same name for each of
 * its continuation lines (which the reader marks: cur_cont). */
#if INI_HANDLER_LINENO
static int handler(void *user, const char *section, const char *name, const char *value,
                   int lineno)
#else
static int handler(void *user, const char *section, const char *name, const char *value)
#endif
{
    struct ctx *c = user;

#if INI_HANDLER_LINENO
    (void)lineno; /* inih's count; the reader's cur_line is the physical line */
#endif
    if (c->failed)
        return 0;
    if (!section || !name || !value)
        return 1; /* no such line is handed over (INI_ALLOW_NO_VALUE, new-section calls) */
    if (c->cur_cont) {
        /* inih repeats the name (its first 49 bytes) for a continuation
         * line; another name means it read the line as a new pair, as a
         * libinih without multi-line entries would. */
        if (c->open && strncmp(name, c->ini_name, INI_SECTION_MAX) != 0)
            ctx_error(c, GOSSIP_ECONFIG, c->cur_line,
                      "inih did not read this line as the continuation of %s (a libinih built "
                      "or set without multi-line entries?)",
                      c->path);
        else if (c->open)
            vtext_append(c, c->cur_glue ? "" : " ", value);
    } else {
        finish_key(c);
        begin_key(c, section, name, value);
        snprintf(c->ini_name, sizeof c->ini_name, "%s", name);
    }
    if (c->cur_last)
        finish_key(c);
    return !c->failed;
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
                      "cluster.seed-nodes: \"%s\" is not an address or a host name",
                      c->seeds[i]);
    }
}

static int load(struct gossip_config *cfg, const char *text, size_t size, const char *name,
                const char *file, unsigned flags, char *err, size_t errlen)
{
    struct ctx *c;
    int rc;

    if (err && errlen > 0)
        err[0] = '\0';
    c = calloc(1, sizeof *c);
    if (!c)
        return GOSSIP_ENOMEM;
    (void)config_widen(cfg, &c->work, NULL, 0); /* the caller's size: check_args() */
    c->name = name;
    c->file = file;
    if (file && strrchr(file, '/'))
        c->dir_len = (size_t)(strrchr(file, '/') - file);
    if (file && file[0] == '/' && c->dir_len == 0)
        c->dir_len = 1; /* "/gossip.conf": the root */
    c->strict = flags & GOSSIP_LOAD_STRICT;
    c->text = text;
    c->size = size;
    c->next_line = 1;

    rc = ini_parse_stream(reader, c, handler, c);
    finish_key(c); /* a value still open at the end (an unterminated array) */
    if (rc == -2)
        oom(c);
    else if (rc != 0)
        /* Only a handler failure (already reported) or a line inih took
         * otherwise than the reader meant, as when multi-line entries are
         * switched off in inih: its line count is the reader's. */
        ctx_error(c, GOSSIP_ECONFIG, (unsigned)(rc > 0 ? rc : 0),
                  "inih could not parse this line (a libinih built or set without multi-line "
                  "entries?)");
    if (!c->failed)
        apply_keys(c);
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
        config_narrow(&c->work, cfg);
    }
    /* Passphrases passed through these buffers and the derived keys
     * through the working copy. */
    if (c->vtext)
        explicit_bzero(c->vtext, c->vtext_cap);
    free(c->vtext);
    if (c->out.text)
        explicit_bzero(c->out.text, c->out.cap);
    free(c->out.text);
    free(c->out.soft);
    explicit_bzero(c, sizeof *c);
    free(c);
    return rc;
}

/* The arguments every loader takes; 0 or GOSSIP_EINVAL with the reason. */
static int check_args(const struct gossip_config *cfg, const void *src, unsigned flags, char *err,
                      size_t errlen)
{
    const char *why = NULL;

    if (err && errlen > 0)
        err[0] = '\0';
    if (!cfg || cfg->size < ABI_CONFIG_SIZE_0_1)
        why = "the configuration is NULL or not initialised with gossip_config_init()";
    else if (!src)
        why = "no file name or text";
    else if (flags & ~(unsigned)GOSSIP_LOAD_STRICT)
        why = "unknown load flags";
    if (why && err && errlen > 0)
        snprintf(err, errlen, "%s", why);
    return why ? GOSSIP_EINVAL : GOSSIP_OK;
}

int gossip_config_load_string_ex(struct gossip_config *cfg, const char *text, const char *name,
                                 unsigned flags, char *err, size_t errlen)
{
    int rc = check_args(cfg, text, flags, err, errlen);
    if (rc != 0)
        return rc;
    return load(cfg, text, strlen(text), name ? name : "<string>", NULL, flags, err, errlen);
}

int gossip_config_load_string(struct gossip_config *cfg, const char *text, const char *name,
                              char *err, size_t errlen)
{
    return gossip_config_load_string_ex(cfg, text, name, 0, err, errlen);
}

int gossip_config_load_file(struct gossip_config *cfg, const char *path, char *err, size_t errlen)
{
    return gossip_config_load_file_ex(cfg, path, 0, err, errlen);
}

int gossip_config_load_file_ex(struct gossip_config *cfg, const char *path, unsigned flags,
                               char *err, size_t errlen)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc, saved;

    if ((rc = check_args(cfg, path, flags, err, errlen)) != 0)
        return rc;
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
    rc = load(cfg, text, len, path, path, flags, err, errlen);
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
