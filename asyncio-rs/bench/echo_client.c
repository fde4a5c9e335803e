/* The echo benchmark's load client (asyncio-rs/bench/echo_bench.py builds and runs it):
 * blocking sockets, one thread per connection, each writing SIZE bytes and reading them back
 * in a loop. Prints "start" when the measured window opens and "done OPS SECONDS" when it
 * closes, so the driver can sample the server's CPU time at both.
 * With SECS negative, each connection makes -SECS requests and closes, and "done" follows
 * (echo_callgrind.sh counts the server's instructions for a fixed number of requests).
 * Usage: echo_client PORT CONNS SIZE SECS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, size;
static long requests; /* per connection; 0: until the process exits */
static atomic_ulong count;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *conn(void *arg) {
    int fd = (int)(long)arg;
    char *msg = calloc(1, size), *buf = malloc(size);
    for (long i = 0; requests == 0 || i < requests; i++) {
        for (int off = 0; off < size;) {
            ssize_t n = write(fd, msg + off, size - off);
            if (n <= 0) { perror("write"); exit(1); }
            off += n;
        }
        for (int off = 0; off < size;) {
            ssize_t n = read(fd, buf + off, size - off);
            if (n <= 0) { perror("read"); exit(1); }
            off += n;
        }
        atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    }
    close(fd);
    free(msg);
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: echo_client PORT CONNS SIZE SECS\n"); return 2; }
    port = atoi(argv[1]);
    int conns = atoi(argv[2]);
    size = atoi(argv[3]);
    double secs = atof(argv[4]);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (secs < 0)
        requests = (long)-secs;
    pthread_t *threads = calloc(conns, sizeof *threads);
    for (int i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_create(&threads[i], NULL, conn, (void *)(long)fd);
    }
    if (requests) {
        for (int i = 0; i < conns; i++)
            pthread_join(threads[i], NULL);
        printf("done %lu\n", atomic_load(&count));
        return 0;
    }
    usleep(300000); /* warm up */
    printf("start\n");
    fflush(stdout);
    unsigned long c0 = atomic_load(&count);
    double t0 = now();
    usleep((useconds_t)(secs * 1e6));
    unsigned long done = atomic_load(&count) - c0;
    printf("done %lu %f\n", done, now() - t0);
    fflush(stdout);
    _exit(0);
}
