/*
 * The tests' helper library, one header per job: th_spawn (processes), th_mock (the mock as a
 * fixture), th_http (raw HTTP), th_journal (the mock's journal), th_script (scripted servers),
 * th_files (files and hashes), th_clock (clocks) and, with a TLS client, th_tls (certificates and
 * scripted servers behind TLS). A suite includes this one header.
 */
#ifndef TH_H
#define TH_H

#include "th_clock.h"
#include "th_files.h"
#include "th_http.h"
#include "th_journal.h"
#include "th_mock.h"
#include "th_script.h"
#include "th_spawn.h"
#ifdef TH_HAVE_TLS
#include "th_tls.h"
#endif

#endif
