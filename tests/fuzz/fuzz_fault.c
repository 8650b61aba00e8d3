/*
 * Fuzzes --fault / X-Mock-Fault spec parsing: any input either parses or fails with a message,
 * and a spec that fails leaves no fault half-applied.
 */
#include "fault.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char spec[1024], err[256];
    if (size >= sizeof spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    mock_fault f, none;
    mock_fault_init(&f);
    mock_fault_init(&none);
    err[0] = '\0';
    if (mock_fault_parse(spec, &f, err, sizeof err) != 0) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            abort(); /* a failure must say why */
        if (memcmp(&f, &none, sizeof f) != 0)
            abort(); /* half a spec must apply nothing */
    }
    return 0;
}
