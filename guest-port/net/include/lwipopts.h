/*
 * lwipopts.h - lwIP 2.1.3's configuration for the Lamina guest kernel
 * (lwIP's src/include/lwip/opt.h lists every option).  NO_SYS=1: the raw
 * API only, driven by one thread per kernel (guest-port/net/net.c), which
 * feeds received frames, runs lwIP's timers and the applications; nothing
 * else calls into lwIP.  IPv4 with ARP, DHCP, ICMP, UDP and TCP; lwIP's
 * own heap and pools, statically sized here (about 3 MiB of .bss).
 */
#ifndef LAMINA_LWIPOPTS_H
#define LAMINA_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_TIMERS                 1

#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (1024 * 1024)
#define MEMP_NUM_PBUF               512
#define MEMP_NUM_RAW_PCB            4
#define MEMP_NUM_UDP_PCB            8
#define MEMP_NUM_TCP_PCB            32
#define MEMP_NUM_TCP_PCB_LISTEN     8
#define MEMP_NUM_TCP_SEG            1024
#define MEMP_NUM_ARP_QUEUE          32
/* lwIP's own timers plus the applications' (ping's reply timeout). */
#define MEMP_NUM_SYS_TIMEOUT        (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
#define PBUF_POOL_SIZE              512
#define PBUF_POOL_BUFSIZE           1600

#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ICMP                   1
#define LWIP_RAW                    1
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DHCP                   1
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define DHCP_DOES_ARP_CHECK         0
#define LWIP_DNS                    0
#define LWIP_IGMP                   0
#define IP_FRAG                     0
#define IP_REASSEMBLY               0

/* TCP: windows of 44 segments (64 KiB without window scaling). */
#define TCP_MSS                     1460
#define TCP_WND                     (44 * TCP_MSS)
#define TCP_SND_BUF                 (44 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ             1
#define LWIP_TCP_KEEPALIVE          1
#define TCP_OVERSIZE                TCP_MSS

#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_HOSTNAME         0
#define LWIP_NETIF_TX_SINGLE_PBUF   0       /* chains go out scatter-gather */
#define LWIP_SINGLE_NETIF           0
#define LWIP_HAVE_LOOPIF            0

#define LWIP_STATS                  0
#define LWIP_PROVIDE_ERRNO          0
#define LWIP_ERRNO_STDINCLUDE       0

/* httpd (src/apps/http): pages made by the guest (fs_open_custom). */
#define LWIP_HTTPD_CUSTOM_FILES     1
#define LWIP_HTTPD_DYNAMIC_HEADERS  1
#define LWIP_HTTPD_DYNAMIC_FILE_READ 0
#define LWIP_HTTPD_CGI              0
#define LWIP_HTTPD_SSI              0
#define LWIP_HTTPD_SUPPORT_POST     0
#define HTTPD_USE_CUSTOM_FSDATA     0

#endif
