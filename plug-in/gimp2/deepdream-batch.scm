; deepdream-batch.scm: dreams every image of a folder into another folder.
;
; Copyright (C) 2026 the gimp-deepdream authors
; SPDX-License-Identifier: GPL-3.0-or-later
;
; Installed into GIMP's scripts folder, so that batch commands can call it:
;
;   gimp-console-2.10 -i -b '(deepdream-batch "/photos/*.jpg" "/dreams"
;       "googlenet" "inception_4c/output" 4 10 1.5 -1 LAYER-MODE-NORMAL 100)' \
;     -b '(gimp-quit 0)'
;
; Each file matching the pattern is loaded, its active layer dreamed on with
; plug-in-deepdream, the layers merged, and the result saved under the same
; name in the output folder, in the format its extension names. The output
; folder must exist: it is checked before any picture is dreamed. A file that
; fails is reported with the reason and skipped; files are saved whole or
; not at all (plug-in-deepdream-save); when no picture was written the call fails,
; so that a batch run's output tells.

; "/photos/a.jpg" -> "a.jpg"
(define (deepdream-batch-basename path)
  (let loop ((i (- (string-length path) 1)))
    (cond ((< i 0) path)
          ((char=? (string-ref path i) (string-ref DIR-SEPARATOR 0))
           (substring path (+ i 1) (string-length path)))
          (else (loop (- i 1))))))

; "/dreams/" -> "/dreams", so that output names compare with input names.
(define (deepdream-batch-folder path)
  (let loop ((end (string-length path)))
    (if (and (> end 1)
             (char=? (string-ref path (- end 1)) (string-ref DIR-SEPARATOR 0)))
        (loop (- end 1))
        (substring path 0 end))))

; Dreams one file into out-dir; returns the path written, or #f for a file
; that the output would replace: a batch that dreams over its own inputs
; is more likely a mistyped folder than a wish.
(define (deepdream-batch-file in out-dir model layers octaves iterations
                              step-size seed layer-mode opacity)
  (let ((out (string-append (deepdream-batch-folder out-dir) DIR-SEPARATOR
                            (deepdream-batch-basename in))))
    (if (string=? out in)
        (begin
          (gimp-message (string-append "deepdream-batch: not dreaming " in
                                       ": the output would replace it;"
                                       " choose another output folder"))
          #f)
        (deepdream-batch-dream in out model layers octaves iterations
                               step-size seed layer-mode opacity))))

(define (deepdream-batch-dream in out model layers octaves iterations
                               step-size seed layer-mode opacity)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (layer (car (gimp-image-get-active-layer image))))
    ; Script-Fu passes every argument: no class (-1), no Laplacian
    ; normalisation (0), start from the image (0), automatic tiles and
    ; memory (0 0).
    (plug-in-deepdream RUN-NONINTERACTIVE image layer model layers -1
                       octaves 1.4 iterations step-size 32 seed -1
                       layer-mode opacity -1 0 0 0 0)
    ; Saved whole or not at all: GIMP's savers write in place, so a full
    ; disk would leave a truncated file under the final name.
    (let ((merged (car (gimp-image-merge-visible-layers image CLIP-TO-IMAGE))))
      (plug-in-deepdream-save RUN-NONINTERACTIVE image merged out))
    (gimp-image-delete image)
    out))

; Runs thunk, giving its value, or #f after saying why it failed: the
; message of the error, which Script-Fu's catch drops, is what a batch user
; needs to see ("cannot write /out/a.png: No space left on device").
(define (deepdream-batch-try in thunk)
  (let* ((why "")
         (hook *error-hook*)
         (result (catch #f
                   (set! *error-hook*
                         (lambda args
                           (if (and (pair? args) (string? (car args)))
                               (set! why (car args)))
                           (apply hook args)))
                   (thunk))))
    (set! *error-hook* hook)
    (if (not result)
        (gimp-message (string-append "deepdream-batch: skipped " in
                                     (if (string=? why "") "" ": ") why)))
    result))

; pattern: a glob ("/photos/*.jpg"); model: a card name or .onnx/.caffemodel file, ""
; for GoogLeNet; layers: "NAME[:WEIGHT],...", "" for the model's default;
; seed: -1 for a new one per image; layer-mode and opacity: how the dream is
; blended over the original (LAYER-MODE-NORMAL 100 shows the dream alone).
; Returns the number of images written.
(define (deepdream-batch pattern out-dir model layers octaves iterations
                         step-size seed layer-mode opacity)
  (if (null? (cadr (file-glob (deepdream-batch-folder out-dir) 1)))
      (error (string-append "deepdream-batch: the output folder " out-dir
                            " does not exist")))
  (let loop ((files (cadr (file-glob pattern 1))) (written 0))
    (if (null? files)
        (begin
          (gimp-message (string-append "deepdream-batch: "
                                       (number->string written)
                                       " image(s) written to " out-dir))
          (if (= written 0)
              (error "deepdream-batch: no image was written"))
          written)
        (let ((ok (deepdream-batch-try
                   (car files)
                   (lambda ()
                     (deepdream-batch-file (car files) out-dir model layers
                                           octaves iterations step-size seed
                                           layer-mode opacity)))))
          (loop (cdr files) (if ok (+ written 1) written))))))
