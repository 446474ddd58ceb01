/**
 * A UDP server and client for network tests, compiled static with the machine's gcc (busybox's nc has no
 * UDP here): `udp-echo serve PORT` answers every datagram with "udp-ok"; `udp-echo send ADDRESS PORT` sends
 * one and prints the answer, or exits 1 after 2 s without one.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testDir } from './images.js';

const SOURCE = String.raw`
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
int main (int argc, char **argv) {
  int s = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  char buf[512];
  if (argc == 3 && strcmp (argv[1], "serve") == 0) {
    a.sin_port = htons (atoi (argv[2]));
    if (bind (s, (struct sockaddr *) &a, sizeof a) < 0) { perror ("bind"); return 1; }
    for (;;) {
      struct sockaddr_in from; socklen_t len = sizeof from;
      if (recvfrom (s, buf, sizeof buf, 0, (struct sockaddr *) &from, &len) >= 0)
        sendto (s, "udp-ok\n", 7, 0, (struct sockaddr *) &from, len);
    }
  }
  if (argc != 4 || strcmp (argv[1], "send") != 0 || inet_pton (AF_INET, argv[2], &a.sin_addr) != 1) return 2;
  a.sin_port = htons (atoi (argv[3]));
  struct timeval tv = { .tv_sec = 2 };
  setsockopt (s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sendto (s, "ping", 4, 0, (struct sockaddr *) &a, sizeof a);
  ssize_t n = recv (s, buf, sizeof buf - 1, 0);
  if (n <= 0) return 1;
  fwrite (buf, 1, (size_t) n, stdout);
  return 0;
}
`;

/** Path of the program, built for the caller. */
export async function udpEchoProgram(): Promise<string> {
  const dir = await testDir('udp-echo');
  const program = join(dir, 'udp-echo');
  writeFileSync(join(dir, 'udp-echo.c'), SOURCE);
  execFileSync('gcc', ['-static', '-O1', '-o', program, join(dir, 'udp-echo.c')]);
  return program;
}
