/*
 * stdlib.h - what lwIP's apps take from stdlib: atoi (httpd's CGI and
 * content-length parsing), from guest-port/net/sys_arch.c.  Only on lwIP's
 * include path.
 */
#ifndef LAMINA_LWIP_STDLIB_H
#define LAMINA_LWIP_STDLIB_H

int atoi(const char *s);

#endif
