/* params.c: strict parsing. The reference lab clamps or falls back to defaults; proflab
 * refuses anything it cannot take as written, and says what it accepts. */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *params_type_name(enum param_type t) {
    switch (t) {
    case PARAM_INTEGER: return "integer";
    case PARAM_NUMBER: return "number";
    case PARAM_STRING: return "string";
    case PARAM_BOOLEAN: return "boolean";
    }
    return "?";
}

static int fmt_num(char *out, size_t len, enum param_type t, double v) {
    /* %.0f, not a cast: a bound at the edge of long long would overflow the conversion */
    return t == PARAM_INTEGER ? snprintf(out, len, "%.0f", v) : snprintf(out, len, "%.15g", v);
}

void params_describe(const struct param_spec *p, char *out, size_t outlen) {
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, __VA_ARGS__)
    if (outlen == 0) return;
    out[0] = '\0';
    char a[40], b[40];
    switch (p->type) {
    case PARAM_INTEGER:
    case PARAM_NUMBER:
        PUT("%s", p->type == PARAM_INTEGER ? "an integer" : "a number");
        if (p->has_min) fmt_num(a, sizeof a, p->type, p->min);
        if (p->has_max) fmt_num(b, sizeof b, p->type, p->max);
        if (p->has_min && p->has_max) PUT(" from %s to %s", a, b);
        else if (p->has_min) PUT(" of at least %s", a);
        else if (p->has_max) PUT(" of at most %s", b);
        if (p->def.present) {
            fmt_num(a, sizeof a, p->type, p->type == PARAM_INTEGER ? (double)p->def.i : p->def.n);
            PUT(" (default %s)", a);
        }
        break;
    case PARAM_BOOLEAN:
        PUT("true, false, 1 or 0");
        if (p->def.present) PUT(" (default %s)", p->def.b ? "true" : "false");
        break;
    case PARAM_STRING:
        if (p->n_enums > 0) {
            PUT("one of ");
            for (int i = 0; i < p->n_enums; i++) PUT("%s%s", i ? ", " : "", p->enums[i]);
        } else {
            PUT("a string");
            if (p->has_min && p->has_max) PUT(" of %lld to %lld bytes", (long long)p->min, (long long)p->max);
            else if (p->has_max) PUT(" of at most %lld bytes", (long long)p->max);
            else if (p->has_min) PUT(" of at least %lld bytes", (long long)p->min);
        }
        if (p->def.present) PUT(" (default %.*s)", (int)(p->def.len > 64 ? 64 : p->def.len), p->def.s);
        break;
    }
#undef PUT
}

/* Quote what the caller sent, printable ASCII only and cut short, for error messages. */
static void quote_input(const char *s, size_t len, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

static int bad(const struct param_spec *p, const char *s, size_t len, struct param_error *err) {
    char want[256], got[200];
    params_describe(p, want, sizeof want);
    quote_input(s, len, got, sizeof got);
    err->code = "bad_parameter";
    snprintf(err->message, sizeof err->message, "%s must be %s; got '%s'", p->name, want, got);
    return -1;
}

static int parse_integer(const char *s, size_t len, long long *out) {
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;
    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len) return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (9223372036854775808ULL - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (!neg && v > 9223372036854775807ULL) return -1;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

static int parse_number(const char *s, size_t len, double *out) {
    char tmp[128];
    if (len == 0 || len >= sizeof tmp) return -1;
    /* digits, one optional sign, one point and one exponent: no hex, inf, nan or spaces */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return -1;
    }
    if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9') || s[0] == '.')) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    /* ERANGE on underflow still gives the nearest subnormal: keep it; overflow is refused */
    if (end != tmp + len || !isfinite(v) || (errno == ERANGE && fabs(v) >= 1.0)) return -1;
    *out = v;
    return 0;
}

int params_parse_value(const struct param_spec *p, const char *s, size_t len, struct param_value *out,
                       struct param_error *err) {
    memset(out, 0, sizeof *out);
    out->type = p->type;
    out->present = 1;
    if (len == 0) return bad(p, s, len, err);
    switch (p->type) {
    case PARAM_INTEGER:
        if (parse_integer(s, len, &out->i) != 0) return bad(p, s, len, err);
        if ((p->has_min && (double)out->i < p->min) || (p->has_max && (double)out->i > p->max))
            return bad(p, s, len, err);
        out->n = (double)out->i;
        return 0;
    case PARAM_NUMBER:
        if (parse_number(s, len, &out->n) != 0) return bad(p, s, len, err);
        if ((p->has_min && out->n < p->min) || (p->has_max && out->n > p->max)) return bad(p, s, len, err);
        return 0;
    case PARAM_BOOLEAN:
        if (len == 4 && memcmp(s, "true", 4) == 0) out->b = 1;
        else if (len == 5 && memcmp(s, "false", 5) == 0) out->b = 0;
        else if (len == 1 && (s[0] == '1' || s[0] == '0')) out->b = s[0] == '1';
        else return bad(p, s, len, err);
        return 0;
    case PARAM_STRING:
        if (len > PARAM_STRING_MAX || memchr(s, '\0', len) != NULL) return bad(p, s, len, err);
        if ((p->has_min && (double)len < p->min) || (p->has_max && (double)len > p->max)) return bad(p, s, len, err);
        if (p->n_enums > 0) {
            int found = 0;
            for (int i = 0; i < p->n_enums && !found; i++)
                found = strlen(p->enums[i]) == len && memcmp(p->enums[i], s, len) == 0;
            if (!found) return bad(p, s, len, err);
        }
        out->s = s;
        out->len = len;
        return 0;
    }
    return bad(p, s, len, err);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' into out; returns the length, or -1 on a broken escape. */
static long decode(const char *s, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

static void accepted_names(const struct param_spec *specs, int n, char *out, size_t outlen) {
    size_t o = 0;
    out[0] = '\0';
    if (n == 0) {
        snprintf(out, outlen, "it takes no parameters");
        return;
    }
    o += (size_t)snprintf(out, outlen, "it accepts ");
    for (int i = 0; i < n && o < outlen; i++) o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", specs[i].name);
}

int params_parse(const struct param_spec *specs, int n, const char *query, size_t qlen, struct param_value *out,
                 char *arena, struct param_error *err) {
    size_t used = 0;
    for (int i = 0; i < n; i++) out[i].present = 0;
    size_t pos = 0;
    while (query != NULL && pos < qlen) {
        const char *pair = query + pos;
        const char *amp = memchr(pair, '&', qlen - pos);
        size_t plen = amp ? (size_t)(amp - pair) : qlen - pos;
        pos += plen + 1;
        if (plen == 0) continue; /* "a=1&&b=2" or a trailing '&' */
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t)(eq - pair) : plen;
        char *key = arena + used;
        long kd = decode(pair, klen, key);
        char shown[120];
        if (kd < 0) {
            quote_input(pair, plen, shown, sizeof shown);
            err->code = "bad_parameter";
            snprintf(err->message, sizeof err->message, "broken percent-encoding in '%s'", shown);
            return -1;
        }
        used += (size_t)kd;
        int which = -1;
        for (int i = 0; i < n && which < 0; i++)
            if (strlen(specs[i].name) == (size_t)kd && memcmp(specs[i].name, key, (size_t)kd) == 0) which = i;
        if (which < 0) {
            char names[256];
            quote_input(key, (size_t)kd, shown, sizeof shown);
            accepted_names(specs, n, names, sizeof names);
            err->code = "unknown_parameter";
            snprintf(err->message, sizeof err->message, "unknown parameter '%s'; %s", shown, names);
            return -1;
        }
        if (out[which].present) {
            err->code = "repeated_parameter";
            snprintf(err->message, sizeof err->message, "%s is given more than once", specs[which].name);
            return -1;
        }
        const char *raw = eq ? eq + 1 : pair + plen;
        size_t rlen = eq ? plen - klen - 1 : 0;
        char *val = arena + used;
        long vd = decode(raw, rlen, val);
        if (vd < 0) {
            char want[256];
            quote_input(raw, rlen, shown, sizeof shown);
            params_describe(&specs[which], want, sizeof want);
            err->code = "bad_parameter";
            snprintf(err->message, sizeof err->message, "%s must be %s; got '%s' (broken percent-encoding)",
                     specs[which].name, want, shown);
            return -1;
        }
        used += (size_t)vd;
        if (params_parse_value(&specs[which], val, (size_t)vd, &out[which], err) != 0) return -1;
    }
    for (int i = 0; i < n; i++) {
        if (out[i].present) continue;
        if (specs[i].def.present) {
            out[i] = specs[i].def;
        } else if (specs[i].required) {
            char want[256];
            params_describe(&specs[i], want, sizeof want);
            err->code = "missing_parameter";
            snprintf(err->message, sizeof err->message, "%s is required: %s", specs[i].name, want);
            return -1;
        }
    }
    return 0;
}
