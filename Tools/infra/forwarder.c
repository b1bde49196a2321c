/* pod-forwarder: publishes a pod's hostPorts. Its listening sockets were made in the host's
 * network namespace by the owner and passed as fds 4, 5, ...; argv[1], argv[2], ... are the
 * container ports they lead to. It lives in the pod's network namespace and relays each
 * accepted connection to 127.0.0.1:port there, both ways, half-closes included, with epoll.
 * Freestanding (sys.h), executed from a memfd by podspawn_forwarder after its setup (cgroups,
 * session, stdio on /dev/null, the pod's network namespace, listeners non-blocking); fd 3 is
 * the report pipe, closed once ready. SIGTERM ends it (the default action); SIGPIPE is blocked
 * and every send says MSG_NOSIGNAL. Regenerate the images with scripts/make-infra.sh. */
#include "sys.h"

enum { MAX_CONNECTIONS = 1024, BUFFER = 16384, MAX_FORWARDS = 64, FIRST_LISTENER = 4,
       EPOLLIN = 1, EPOLLOUT = 4, EPOLLERR = 8, EPOLLHUP = 16, EPOLL_CTL_ADD = 1, EPOLL_CTL_MOD = 3,
       EPOLL_CLOEXEC = 02000000, AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000,
       IPPROTO_TCP = 6, TCP_NODELAY = 1, SOL_SOCKET = 1, SO_ERROR = 4, SHUT_WR = 1, MSG_NOSIGNAL = 0x4000,
       PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, SIGPIPE = 13 };
#define LISTENER_TAG (1ULL << 62)

struct sockaddr_in {
    uint16_t family;
    uint16_t port;  /* network order */
    uint32_t addr;  /* network order */
    unsigned char zero[8];
};

typedef struct buffer {
    size_t head, tail;  /* data is [head, tail) */
    char bytes[BUFFER];
} buffer;

typedef struct connection {
    int used;
    int client, server;
    int connecting;
    int client_eof, server_eof;    /* read side saw EOF */
    int client_shut, server_shut;  /* we shut the write side down */
    buffer up;                     /* client -> server */
    buffer down;                   /* server -> client */
} connection;

static connection *slots;
static long epoll_fd;

static void drop(connection *c) {
    sys(NR_close, c->client, 0, 0, 0);
    sys(NR_close, c->server, 0, 0, 0);
    c->used = 0;
}

static void control(int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev;
    ev.events = events;
    ev.data = tag;
    sys(NR_epoll_ctl, epoll_fd, op, fd, &ev);
}

static void interest(connection *c, uint64_t slot) {
    uint32_t client = 0, server = 0;
    if (!c->client_eof && c->up.tail < BUFFER) client |= EPOLLIN;
    if (c->down.tail > c->down.head) client |= EPOLLOUT;
    if (c->connecting) {
        server |= EPOLLOUT;
    } else {
        if (!c->server_eof && c->down.tail < BUFFER) server |= EPOLLIN;
        if (c->up.tail > c->up.head) server |= EPOLLOUT;
    }
    control(EPOLL_CTL_MOD, c->client, client, slot << 1);
    control(EPOLL_CTL_MOD, c->server, server, slot << 1 | 1);
}

/* Reads what `fd` has into `b`: 0, or -1 when the connection must go. */
static int pull(int fd, buffer *b, int *eof) {
    if (b->head == b->tail) b->head = b->tail = 0;
    while (b->tail < BUFFER) {
        long n = sys6(NR_recvfrom, fd, (long)(b->bytes + b->tail), (long)(BUFFER - b->tail), 0, 0, 0);
        if (n > 0) { b->tail += (size_t)n; continue; }
        if (n == 0) { *eof = 1; return 0; }
        if (n == -EINTR) continue;
        if (n == -EAGAIN) return 0;
        return -1;
    }
    return 0;
}

/* Writes what `b` holds to `fd`: 0, or -1 when the connection must go. */
static int push(int fd, buffer *b) {
    while (b->head < b->tail) {
        long n = sys6(NR_sendto, fd, (long)(b->bytes + b->head), (long)(b->tail - b->head), MSG_NOSIGNAL, 0, 0);
        if (n > 0) { b->head += (size_t)n; continue; }
        if (n == -EINTR) continue;
        if (n == -EAGAIN) return 0;
        return -1;
    }
    b->head = b->tail = 0;
    return 0;
}

static void step(connection *c, uint64_t slot, int server_side, uint32_t events) {
    if (server_side && c->connecting) {
        int error = 0;
        int length = sizeof error;
        if (sys6(NR_getsockopt, c->server, SOL_SOCKET, SO_ERROR, (long)&error, (long)&length, 0) < 0 || error != 0) {
            drop(c);  /* nothing listens in the pod: the client sees the connection closed */
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        c->connecting = 0;
    }
    if (pull(c->client, &c->up, &c->client_eof) < 0) { drop(c); return; }
    if (!c->connecting) {
        if (push(c->server, &c->up) < 0) { drop(c); return; }
        if (pull(c->server, &c->down, &c->server_eof) < 0) { drop(c); return; }
    }
    if (push(c->client, &c->down) < 0) { drop(c); return; }
    /* Half-closes travel through once the data before them has. */
    if (!c->connecting && c->client_eof && !c->server_shut && c->up.head == c->up.tail) {
        sys(NR_shutdown, c->server, SHUT_WR, 0, 0);
        c->server_shut = 1;
    }
    if (c->server_eof && !c->client_shut && c->down.head == c->down.tail) {
        sys(NR_shutdown, c->client, SHUT_WR, 0, 0);
        c->client_shut = 1;
    }
    if (c->server_shut && c->client_shut) { drop(c); return; }
    interest(c, slot);
}

static void accept_all(int listener, int port) {
    for (;;) {
        long client = sys(NR_accept4, listener, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) return;  /* EAGAIN, or a transient error: the next event tries again */
        uint64_t slot = 0;
        while (slot < MAX_CONNECTIONS && slots[slot].used) slot++;
        if (slot == MAX_CONNECTIONS) { sys(NR_close, client, 0, 0, 0); continue; }
        long server = sys(NR_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0);  /* in the pod */
        if (server < 0) { sys(NR_close, client, 0, 0, 0); continue; }
        int one = 1;
        sys6(NR_setsockopt, client, IPPROTO_TCP, TCP_NODELAY, (long)&one, sizeof one, 0);
        sys6(NR_setsockopt, server, IPPROTO_TCP, TCP_NODELAY, (long)&one, sizeof one, 0);
        struct sockaddr_in to = {AF_INET, (uint16_t)((port & 0xff) << 8 | (port >> 8 & 0xff)), 0x0100007fU, {0}};
        int connecting = 0;
        long connected = sys(NR_connect, server, &to, sizeof to, 0);
        if (connected < 0) {
            if (connected != -EINPROGRESS) { sys(NR_close, client, 0, 0, 0); sys(NR_close, server, 0, 0, 0); continue; }
            connecting = 1;
        }
        connection *c = &slots[slot];
        c->used = 1;
        c->client = (int)client;
        c->server = (int)server;
        c->connecting = connecting;
        c->client_eof = c->server_eof = c->client_shut = c->server_shut = 0;
        c->up.head = c->up.tail = c->down.head = c->down.tail = 0;
        control(EPOLL_CTL_ADD, c->client, 0, slot << 1);
        control(EPOLL_CTL_ADD, c->server, 0, slot << 1 | 1);
        interest(c, slot);
    }
}

__attribute__((noreturn, used)) void infra_main(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    int count = (int)(argc - 1);
    if (count < 1 || count > MAX_FORWARDS) exit_group(2);
    int ports[MAX_FORWARDS];
    for (int i = 0; i < count; i++) {
        int port = 0;
        for (const char *p = argv[i + 1]; *p; p++) {
            if (*p < '0' || *p > '9' || port > 65535) exit_group(2);
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) exit_group(2);
        ports[i] = port;
    }
    unsigned long pipe = 1UL << (SIGPIPE - 1);  /* only SIGPIPE, whatever mask it was given */
    sys(NR_rt_sigprocmask, SIG_SETMASK, &pipe, 0, sizeof pipe);
    epoll_fd = sys(NR_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0);
    if (epoll_fd < 0) exit_group(127);
    long memory = sys6(NR_mmap, 0, (long)(sizeof(connection) * MAX_CONNECTIONS), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory < 0 && memory > -4096) exit_group(127);
    slots = (connection *)memory;  /* zero-filled: no slot used */
    for (int i = 0; i < count; i++) control(EPOLL_CTL_ADD, FIRST_LISTENER + i, EPOLLIN, LISTENER_TAG | (uint64_t)i);
    ready("pod-forwarder", epoll_fd);
    struct epoll_event events[64];
    for (;;) {
        long n = sys6(NR_epoll_pwait, epoll_fd, (long)events, 64, -1, 0, 8);
        for (long i = 0; i < n; i++) {
            uint64_t tag = events[i].data;
            if (tag & LISTENER_TAG) {
                int index = (int)(tag & 0xffff);
                accept_all(FIRST_LISTENER + index, ports[index]);
                continue;
            }
            uint64_t slot = tag >> 1;
            if (slot >= MAX_CONNECTIONS || !slots[slot].used) continue;
            step(&slots[slot], slot, (int)(tag & 1), events[i].events);
        }
    }
}
