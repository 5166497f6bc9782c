import { createRequire } from "node:module";
// \0rolldown/runtime.js
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __esmMin = (fn, res, err) => () => {
	if (err) throw err[0];
	try {
		return fn && (res = fn(fn = 0)), res;
	} catch (e) {
		throw err = [e], e;
	}
};
var __commonJSMin = (cb, mod) => () => (mod || (cb((mod = { exports: {} }).exports, mod, mod.exports), cb = null), mod.exports);
var __exportAll = (all, flags) => {
	let target = Object.setPrototypeOf({}, null);
	for (var name in all) __defProp(target, name, {
		get: all[name],
		enumerable: true
	});
	if (!(flags & 1)) __defProp(target, Symbol.toStringTag, { value: "Module" });
	return flags & 2 ? target : Object.preventExtensions(target);
};
var __copyProps = (to, from, except, desc) => {
	if (from && typeof from === "object" || typeof from === "function") {
		for (let key of __getOwnPropNames(from)) if (!__hasOwnProp.call(to, key) && key !== except) {
			desc = __getOwnPropDesc(from, key);
			__defProp(to, key, {
				get: desc && desc.get && !desc.configurable ? desc.get : () => from[key],
				enumerable: !desc || desc.enumerable
			});
		}
	}
	return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(isNodeMode || !mod || !mod.__esModule || !__hasOwnProp.call(mod, "default") ? __defProp(target, "default", {
	value: mod,
	enumerable: true
}) : target, mod));
var __toCommonJS = (mod) => __hasOwnProp.call(mod, "module.exports") ? mod["module.exports"] : __copyProps(__defProp({}, "__esModule", { value: true }), mod);
var __require = /* #__PURE__ */ (() => createRequire(import.meta.url))();
// node_modules/ws/lib/constants.js
var require_constants = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var BINARY_TYPES = [
		"nodebuffer",
		"arraybuffer",
		"fragments"
	];
	var hasBlob = typeof Blob !== "undefined";
	if (hasBlob) BINARY_TYPES.push("blob");
	module.exports = {
		BINARY_TYPES,
		EMPTY_BUFFER: Buffer.alloc(0),
		GUID: "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
		hasBlob,
		kForOnEventAttribute: Symbol("kIsForOnEventAttribute"),
		kListener: Symbol("kListener"),
		kStatusCode: Symbol("status-code"),
		kWebSocket: Symbol("websocket"),
		NOOP: () => {}
	};
}));
// __vite-optional-peer-dep:bufferutil:ws
var __vite_optional_peer_dep_bufferutil_ws_exports = /* @__PURE__ */ __exportAll({ default: () => __vite_optional_peer_dep_bufferutil_ws_default });
var __vite_optional_peer_dep_bufferutil_ws_default;
var init___vite_optional_peer_dep_bufferutil_ws = __esmMin((() => {
	__vite_optional_peer_dep_bufferutil_ws_default = {};
	throw new Error(`Could not resolve "bufferutil" imported by "ws". Is it installed?`);
}));
// node_modules/ws/lib/buffer-util.js
var require_buffer_util = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { EMPTY_BUFFER } = require_constants();
	var FastBuffer = Buffer[Symbol.species];
	/**
	* Merges an array of buffers into a new buffer.
	*
	* @param {Buffer[]} list The array of buffers to concat
	* @param {Number} totalLength The total length of buffers in the list
	* @return {Buffer} The resulting buffer
	* @public
	*/
	function concat(list, totalLength) {
		if (list.length === 0) return EMPTY_BUFFER;
		if (list.length === 1) return list[0];
		const target = Buffer.allocUnsafe(totalLength);
		let offset = 0;
		for (let i = 0; i < list.length; i++) {
			const buf = list[i];
			target.set(buf, offset);
			offset += buf.length;
		}
		if (offset < totalLength) return new FastBuffer(target.buffer, target.byteOffset, offset);
		return target;
	}
	/**
	* Masks a buffer using the given mask.
	*
	* @param {Buffer} source The buffer to mask
	* @param {Buffer} mask The mask to use
	* @param {Buffer} output The buffer where to store the result
	* @param {Number} offset The offset at which to start writing
	* @param {Number} length The number of bytes to mask.
	* @public
	*/
	function _mask(source, mask, output, offset, length) {
		for (let i = 0; i < length; i++) output[offset + i] = source[i] ^ mask[i & 3];
	}
	/**
	* Unmasks a buffer using the given mask.
	*
	* @param {Buffer} buffer The buffer to unmask
	* @param {Buffer} mask The mask to use
	* @public
	*/
	function _unmask(buffer, mask) {
		for (let i = 0; i < buffer.length; i++) buffer[i] ^= mask[i & 3];
	}
	/**
	* Converts a buffer to an `ArrayBuffer`.
	*
	* @param {Buffer} buf The buffer to convert
	* @return {ArrayBuffer} Converted buffer
	* @public
	*/
	function toArrayBuffer(buf) {
		if (buf.length === buf.buffer.byteLength) return buf.buffer;
		return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
	}
	/**
	* Converts `data` to a `Buffer`.
	*
	* @param {*} data The data to convert
	* @return {Buffer} The buffer
	* @throws {TypeError}
	* @public
	*/
	function toBuffer(data) {
		toBuffer.readOnly = true;
		if (Buffer.isBuffer(data)) return data;
		let buf;
		if (data instanceof ArrayBuffer) buf = new FastBuffer(data);
		else if (ArrayBuffer.isView(data)) buf = new FastBuffer(data.buffer, data.byteOffset, data.byteLength);
		else {
			buf = Buffer.from(data);
			toBuffer.readOnly = false;
		}
		return buf;
	}
	module.exports = {
		concat,
		mask: _mask,
		toArrayBuffer,
		toBuffer,
		unmask: _unmask
	};
	/* istanbul ignore else  */
	if (!process.env.WS_NO_BUFFER_UTIL) try {
		const bufferUtil = (init___vite_optional_peer_dep_bufferutil_ws(), __toCommonJS(__vite_optional_peer_dep_bufferutil_ws_exports));
		module.exports.mask = function(source, mask, output, offset, length) {
			if (length < 48) _mask(source, mask, output, offset, length);
			else bufferUtil.mask(source, mask, output, offset, length);
		};
		module.exports.unmask = function(buffer, mask) {
			if (buffer.length < 32) _unmask(buffer, mask);
			else bufferUtil.unmask(buffer, mask);
		};
	} catch (e) {}
}));
// node_modules/ws/lib/limiter.js
var require_limiter = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var kDone = Symbol("kDone");
	var kRun = Symbol("kRun");
	/**
	* A very simple job queue with adjustable concurrency. Adapted from
	* https://github.com/STRML/async-limiter
	*/
	var Limiter = class {
		/**
		* Creates a new `Limiter`.
		*
		* @param {Number} [concurrency=Infinity] The maximum number of jobs allowed
		*     to run concurrently
		*/
		constructor(concurrency) {
			this[kDone] = () => {
				this.pending--;
				this[kRun]();
			};
			this.concurrency = concurrency || 1e400;
			this.jobs = [];
			this.pending = 0;
		}
		/**
		* Adds a job to the queue.
		*
		* @param {Function} job The job to run
		* @public
		*/
		add(job) {
			this.jobs.push(job);
			this[kRun]();
		}
		/**
		* Removes a job from the queue and runs it if possible.
		*
		* @private
		*/
		[kRun]() {
			if (this.pending === this.concurrency) return;
			if (this.jobs.length) {
				const job = this.jobs.shift();
				this.pending++;
				job(this[kDone]);
			}
		}
	};
	module.exports = Limiter;
}));
// node_modules/ws/lib/permessage-deflate.js
var require_permessage_deflate = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var zlib = __require("zlib");
	var bufferUtil = require_buffer_util();
	var Limiter = require_limiter();
	var { kStatusCode } = require_constants();
	var FastBuffer = Buffer[Symbol.species];
	var TRAILER = Buffer.from([
		0,
		0,
		255,
		255
	]);
	var kPerMessageDeflate = Symbol("permessage-deflate");
	var kTotalLength = Symbol("total-length");
	var kCallback = Symbol("callback");
	var kBuffers = Symbol("buffers");
	var kError = Symbol("error");
	var zlibLimiter;
	/**
	* permessage-deflate implementation.
	*/
	var PerMessageDeflate = class {
		/**
		* Creates a PerMessageDeflate instance.
		*
		* @param {Object} [options] Configuration options
		* @param {(Boolean|Number)} [options.clientMaxWindowBits] Advertise support
		*     for, or request, a custom client window size
		* @param {Boolean} [options.clientNoContextTakeover=false] Advertise/
		*     acknowledge disabling of client context takeover
		* @param {Number} [options.concurrencyLimit=10] The number of concurrent
		*     calls to zlib
		* @param {(Boolean|Number)} [options.serverMaxWindowBits] Request/confirm the
		*     use of a custom server window size
		* @param {Boolean} [options.serverNoContextTakeover=false] Request/accept
		*     disabling of server context takeover
		* @param {Number} [options.threshold=1024] Size (in bytes) below which
		*     messages should not be compressed if context takeover is disabled
		* @param {Object} [options.zlibDeflateOptions] Options to pass to zlib on
		*     deflate
		* @param {Object} [options.zlibInflateOptions] Options to pass to zlib on
		*     inflate
		* @param {Boolean} [isServer=false] Create the instance in either server or
		*     client mode
		* @param {Number} [maxPayload=0] The maximum allowed message length
		*/
		constructor(options, isServer, maxPayload) {
			this._maxPayload = maxPayload | 0;
			this._options = options || {};
			this._threshold = this._options.threshold !== void 0 ? this._options.threshold : 1024;
			this._isServer = !!isServer;
			this._deflate = null;
			this._inflate = null;
			this.params = null;
			if (!zlibLimiter) zlibLimiter = new Limiter(this._options.concurrencyLimit !== void 0 ? this._options.concurrencyLimit : 10);
		}
		/**
		* @type {String}
		*/
		static get extensionName() {
			return "permessage-deflate";
		}
		/**
		* Create an extension negotiation offer.
		*
		* @return {Object} Extension parameters
		* @public
		*/
		offer() {
			const params = {};
			if (this._options.serverNoContextTakeover) params.server_no_context_takeover = true;
			if (this._options.clientNoContextTakeover) params.client_no_context_takeover = true;
			if (this._options.serverMaxWindowBits) params.server_max_window_bits = this._options.serverMaxWindowBits;
			if (this._options.clientMaxWindowBits) params.client_max_window_bits = this._options.clientMaxWindowBits;
			else if (this._options.clientMaxWindowBits == null) params.client_max_window_bits = true;
			return params;
		}
		/**
		* Accept an extension negotiation offer/response.
		*
		* @param {Array} configurations The extension negotiation offers/reponse
		* @return {Object} Accepted configuration
		* @public
		*/
		accept(configurations) {
			configurations = this.normalizeParams(configurations);
			this.params = this._isServer ? this.acceptAsServer(configurations) : this.acceptAsClient(configurations);
			return this.params;
		}
		/**
		* Releases all resources used by the extension.
		*
		* @public
		*/
		cleanup() {
			if (this._inflate) {
				this._inflate.close();
				this._inflate = null;
			}
			if (this._deflate) {
				const callback = this._deflate[kCallback];
				this._deflate.close();
				this._deflate = null;
				if (callback) callback(/* @__PURE__ */ new Error("The deflate stream was closed while data was being processed"));
			}
		}
		/**
		*  Accept an extension negotiation offer.
		*
		* @param {Array} offers The extension negotiation offers
		* @return {Object} Accepted configuration
		* @private
		*/
		acceptAsServer(offers) {
			const opts = this._options;
			const accepted = offers.find((params) => {
				if (opts.serverNoContextTakeover === false && params.server_no_context_takeover || params.server_max_window_bits && (opts.serverMaxWindowBits === false || typeof opts.serverMaxWindowBits === "number" && opts.serverMaxWindowBits > params.server_max_window_bits) || typeof opts.clientMaxWindowBits === "number" && !params.client_max_window_bits) return false;
				return true;
			});
			if (!accepted) throw new Error("None of the extension offers can be accepted");
			if (opts.serverNoContextTakeover) accepted.server_no_context_takeover = true;
			if (opts.clientNoContextTakeover) accepted.client_no_context_takeover = true;
			if (typeof opts.serverMaxWindowBits === "number") accepted.server_max_window_bits = opts.serverMaxWindowBits;
			if (typeof opts.clientMaxWindowBits === "number") accepted.client_max_window_bits = opts.clientMaxWindowBits;
			else if (accepted.client_max_window_bits === true || opts.clientMaxWindowBits === false) delete accepted.client_max_window_bits;
			return accepted;
		}
		/**
		* Accept the extension negotiation response.
		*
		* @param {Array} response The extension negotiation response
		* @return {Object} Accepted configuration
		* @private
		*/
		acceptAsClient(response) {
			const params = response[0];
			if (this._options.clientNoContextTakeover === false && params.client_no_context_takeover) throw new Error("Unexpected parameter \"client_no_context_takeover\"");
			if (!params.client_max_window_bits) {
				if (typeof this._options.clientMaxWindowBits === "number") params.client_max_window_bits = this._options.clientMaxWindowBits;
			} else if (this._options.clientMaxWindowBits === false || typeof this._options.clientMaxWindowBits === "number" && params.client_max_window_bits > this._options.clientMaxWindowBits) throw new Error("Unexpected or invalid parameter \"client_max_window_bits\"");
			return params;
		}
		/**
		* Normalize parameters.
		*
		* @param {Array} configurations The extension negotiation offers/reponse
		* @return {Array} The offers/response with normalized parameters
		* @private
		*/
		normalizeParams(configurations) {
			configurations.forEach((params) => {
				Object.keys(params).forEach((key) => {
					let value = params[key];
					if (value.length > 1) throw new Error(`Parameter "${key}" must have only a single value`);
					value = value[0];
					if (key === "client_max_window_bits") {
						if (value !== true) {
							const num = +value;
							if (!Number.isInteger(num) || num < 8 || num > 15) throw new TypeError(`Invalid value for parameter "${key}": ${value}`);
							value = num;
						} else if (!this._isServer) throw new TypeError(`Invalid value for parameter "${key}": ${value}`);
					} else if (key === "server_max_window_bits") {
						const num = +value;
						if (!Number.isInteger(num) || num < 8 || num > 15) throw new TypeError(`Invalid value for parameter "${key}": ${value}`);
						value = num;
					} else if (key === "client_no_context_takeover" || key === "server_no_context_takeover") {
						if (value !== true) throw new TypeError(`Invalid value for parameter "${key}": ${value}`);
					} else throw new Error(`Unknown parameter "${key}"`);
					params[key] = value;
				});
			});
			return configurations;
		}
		/**
		* Decompress data. Concurrency limited.
		*
		* @param {Buffer} data Compressed data
		* @param {Boolean} fin Specifies whether or not this is the last fragment
		* @param {Function} callback Callback
		* @public
		*/
		decompress(data, fin, callback) {
			zlibLimiter.add((done) => {
				this._decompress(data, fin, (err, result) => {
					done();
					callback(err, result);
				});
			});
		}
		/**
		* Compress data. Concurrency limited.
		*
		* @param {(Buffer|String)} data Data to compress
		* @param {Boolean} fin Specifies whether or not this is the last fragment
		* @param {Function} callback Callback
		* @public
		*/
		compress(data, fin, callback) {
			zlibLimiter.add((done) => {
				this._compress(data, fin, (err, result) => {
					done();
					callback(err, result);
				});
			});
		}
		/**
		* Decompress data.
		*
		* @param {Buffer} data Compressed data
		* @param {Boolean} fin Specifies whether or not this is the last fragment
		* @param {Function} callback Callback
		* @private
		*/
		_decompress(data, fin, callback) {
			const endpoint = this._isServer ? "client" : "server";
			if (!this._inflate) {
				const key = `${endpoint}_max_window_bits`;
				const windowBits = typeof this.params[key] !== "number" ? zlib.Z_DEFAULT_WINDOWBITS : this.params[key];
				this._inflate = zlib.createInflateRaw({
					...this._options.zlibInflateOptions,
					windowBits
				});
				this._inflate[kPerMessageDeflate] = this;
				this._inflate[kTotalLength] = 0;
				this._inflate[kBuffers] = [];
				this._inflate.on("error", inflateOnError);
				this._inflate.on("data", inflateOnData);
			}
			this._inflate[kCallback] = callback;
			this._inflate.write(data);
			if (fin) this._inflate.write(TRAILER);
			this._inflate.flush(() => {
				const err = this._inflate[kError];
				if (err) {
					this._inflate.close();
					this._inflate = null;
					callback(err);
					return;
				}
				const data = bufferUtil.concat(this._inflate[kBuffers], this._inflate[kTotalLength]);
				if (this._inflate._readableState.endEmitted) {
					this._inflate.close();
					this._inflate = null;
				} else {
					this._inflate[kTotalLength] = 0;
					this._inflate[kBuffers] = [];
					if (fin && this.params[`${endpoint}_no_context_takeover`]) this._inflate.reset();
				}
				callback(null, data);
			});
		}
		/**
		* Compress data.
		*
		* @param {(Buffer|String)} data Data to compress
		* @param {Boolean} fin Specifies whether or not this is the last fragment
		* @param {Function} callback Callback
		* @private
		*/
		_compress(data, fin, callback) {
			const endpoint = this._isServer ? "server" : "client";
			if (!this._deflate) {
				const key = `${endpoint}_max_window_bits`;
				const windowBits = typeof this.params[key] !== "number" ? zlib.Z_DEFAULT_WINDOWBITS : this.params[key];
				this._deflate = zlib.createDeflateRaw({
					...this._options.zlibDeflateOptions,
					windowBits
				});
				this._deflate[kTotalLength] = 0;
				this._deflate[kBuffers] = [];
				this._deflate.on("data", deflateOnData);
			}
			this._deflate[kCallback] = callback;
			this._deflate.write(data);
			this._deflate.flush(zlib.Z_SYNC_FLUSH, () => {
				if (!this._deflate) return;
				let data = bufferUtil.concat(this._deflate[kBuffers], this._deflate[kTotalLength]);
				if (fin) data = new FastBuffer(data.buffer, data.byteOffset, data.length - 4);
				this._deflate[kCallback] = null;
				this._deflate[kTotalLength] = 0;
				this._deflate[kBuffers] = [];
				if (fin && this.params[`${endpoint}_no_context_takeover`]) this._deflate.reset();
				callback(null, data);
			});
		}
	};
	module.exports = PerMessageDeflate;
	/**
	* The listener of the `zlib.DeflateRaw` stream `'data'` event.
	*
	* @param {Buffer} chunk A chunk of data
	* @private
	*/
	function deflateOnData(chunk) {
		this[kBuffers].push(chunk);
		this[kTotalLength] += chunk.length;
	}
	/**
	* The listener of the `zlib.InflateRaw` stream `'data'` event.
	*
	* @param {Buffer} chunk A chunk of data
	* @private
	*/
	function inflateOnData(chunk) {
		this[kTotalLength] += chunk.length;
		if (this[kPerMessageDeflate]._maxPayload < 1 || this[kTotalLength] <= this[kPerMessageDeflate]._maxPayload) {
			this[kBuffers].push(chunk);
			return;
		}
		this[kError] = /* @__PURE__ */ new RangeError("Max payload size exceeded");
		this[kError].code = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
		this[kError][kStatusCode] = 1009;
		this.removeListener("data", inflateOnData);
		this.reset();
	}
	/**
	* The listener of the `zlib.InflateRaw` stream `'error'` event.
	*
	* @param {Error} err The emitted error
	* @private
	*/
	function inflateOnError(err) {
		this[kPerMessageDeflate]._inflate = null;
		if (this[kError]) {
			this[kCallback](this[kError]);
			return;
		}
		err[kStatusCode] = 1007;
		this[kCallback](err);
	}
}));
// __vite-optional-peer-dep:utf-8-validate:ws
var __vite_optional_peer_dep_utf_8_validate_ws_exports = /* @__PURE__ */ __exportAll({ default: () => __vite_optional_peer_dep_utf_8_validate_ws_default });
var __vite_optional_peer_dep_utf_8_validate_ws_default;
var init___vite_optional_peer_dep_utf_8_validate_ws = __esmMin((() => {
	__vite_optional_peer_dep_utf_8_validate_ws_default = {};
	throw new Error(`Could not resolve "utf-8-validate" imported by "ws". Is it installed?`);
}));
// node_modules/ws/lib/validation.js
var require_validation = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { isUtf8 } = __require("buffer");
	var { hasBlob } = require_constants();
	var tokenChars = [
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		1,
		0,
		1,
		1,
		1,
		1,
		1,
		0,
		0,
		1,
		1,
		0,
		1,
		1,
		0,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		0,
		0,
		0,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		1,
		0,
		1,
		0,
		1,
		0
	];
	/**
	* Checks if a status code is allowed in a close frame.
	*
	* @param {Number} code The status code
	* @return {Boolean} `true` if the status code is valid, else `false`
	* @public
	*/
	function isValidStatusCode(code) {
		return code >= 1e3 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006 || code >= 3e3 && code <= 4999;
	}
	/**
	* Checks if a given buffer contains only correct UTF-8.
	* Ported from https://www.cl.cam.ac.uk/%7Emgk25/ucs/utf8_check.c by
	* Markus Kuhn.
	*
	* @param {Buffer} buf The buffer to check
	* @return {Boolean} `true` if `buf` contains only correct UTF-8, else `false`
	* @public
	*/
	function _isValidUTF8(buf) {
		const len = buf.length;
		let i = 0;
		while (i < len) if ((buf[i] & 128) === 0) i++;
		else if ((buf[i] & 224) === 192) {
			if (i + 1 === len || (buf[i + 1] & 192) !== 128 || (buf[i] & 254) === 192) return false;
			i += 2;
		} else if ((buf[i] & 240) === 224) {
			if (i + 2 >= len || (buf[i + 1] & 192) !== 128 || (buf[i + 2] & 192) !== 128 || buf[i] === 224 && (buf[i + 1] & 224) === 128 || buf[i] === 237 && (buf[i + 1] & 224) === 160) return false;
			i += 3;
		} else if ((buf[i] & 248) === 240) {
			if (i + 3 >= len || (buf[i + 1] & 192) !== 128 || (buf[i + 2] & 192) !== 128 || (buf[i + 3] & 192) !== 128 || buf[i] === 240 && (buf[i + 1] & 240) === 128 || buf[i] === 244 && buf[i + 1] > 143 || buf[i] > 244) return false;
			i += 4;
		} else return false;
		return true;
	}
	/**
	* Determines whether a value is a `Blob`.
	*
	* @param {*} value The value to be tested
	* @return {Boolean} `true` if `value` is a `Blob`, else `false`
	* @private
	*/
	function isBlob(value) {
		return hasBlob && typeof value === "object" && typeof value.arrayBuffer === "function" && typeof value.type === "string" && typeof value.stream === "function" && (value[Symbol.toStringTag] === "Blob" || value[Symbol.toStringTag] === "File");
	}
	module.exports = {
		isBlob,
		isValidStatusCode,
		isValidUTF8: _isValidUTF8,
		tokenChars
	};
	if (isUtf8) module.exports.isValidUTF8 = function(buf) {
		return buf.length < 24 ? _isValidUTF8(buf) : isUtf8(buf);
	};
	else if (!process.env.WS_NO_UTF_8_VALIDATE) try {
		const isValidUTF8 = (init___vite_optional_peer_dep_utf_8_validate_ws(), __toCommonJS(__vite_optional_peer_dep_utf_8_validate_ws_exports));
		module.exports.isValidUTF8 = function(buf) {
			return buf.length < 32 ? _isValidUTF8(buf) : isValidUTF8(buf);
		};
	} catch (e) {}
}));
// node_modules/ws/lib/receiver.js
var require_receiver = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { Writable } = __require("stream");
	var PerMessageDeflate = require_permessage_deflate();
	var { BINARY_TYPES, EMPTY_BUFFER, kStatusCode, kWebSocket } = require_constants();
	var { concat, toArrayBuffer, unmask } = require_buffer_util();
	var { isValidStatusCode, isValidUTF8 } = require_validation();
	var FastBuffer = Buffer[Symbol.species];
	var GET_INFO = 0;
	var GET_PAYLOAD_LENGTH_16 = 1;
	var GET_PAYLOAD_LENGTH_64 = 2;
	var GET_MASK = 3;
	var GET_DATA = 4;
	var INFLATING = 5;
	var DEFER_EVENT = 6;
	/**
	* HyBi Receiver implementation.
	*
	* @extends Writable
	*/
	var Receiver = class extends Writable {
		/**
		* Creates a Receiver instance.
		*
		* @param {Object} [options] Options object
		* @param {Boolean} [options.allowSynchronousEvents=true] Specifies whether
		*     any of the `'message'`, `'ping'`, and `'pong'` events can be emitted
		*     multiple times in the same tick
		* @param {String} [options.binaryType=nodebuffer] The type for binary data
		* @param {Object} [options.extensions] An object containing the negotiated
		*     extensions
		* @param {Boolean} [options.isServer=false] Specifies whether to operate in
		*     client or server mode
		* @param {Number} [options.maxPayload=0] The maximum allowed message length
		* @param {Boolean} [options.skipUTF8Validation=false] Specifies whether or
		*     not to skip UTF-8 validation for text and close messages
		*/
		constructor(options = {}) {
			super();
			this._allowSynchronousEvents = options.allowSynchronousEvents !== void 0 ? options.allowSynchronousEvents : true;
			this._binaryType = options.binaryType || BINARY_TYPES[0];
			this._extensions = options.extensions || {};
			this._isServer = !!options.isServer;
			this._maxPayload = options.maxPayload | 0;
			this._skipUTF8Validation = !!options.skipUTF8Validation;
			this[kWebSocket] = void 0;
			this._bufferedBytes = 0;
			this._buffers = [];
			this._compressed = false;
			this._payloadLength = 0;
			this._mask = void 0;
			this._fragmented = 0;
			this._masked = false;
			this._fin = false;
			this._opcode = 0;
			this._totalPayloadLength = 0;
			this._messageLength = 0;
			this._fragments = [];
			this._errored = false;
			this._loop = false;
			this._state = GET_INFO;
		}
		/**
		* Implements `Writable.prototype._write()`.
		*
		* @param {Buffer} chunk The chunk of data to write
		* @param {String} encoding The character encoding of `chunk`
		* @param {Function} cb Callback
		* @private
		*/
		_write(chunk, encoding, cb) {
			if (this._opcode === 8 && this._state == GET_INFO) return cb();
			this._bufferedBytes += chunk.length;
			this._buffers.push(chunk);
			this.startLoop(cb);
		}
		/**
		* Consumes `n` bytes from the buffered data.
		*
		* @param {Number} n The number of bytes to consume
		* @return {Buffer} The consumed bytes
		* @private
		*/
		consume(n) {
			this._bufferedBytes -= n;
			if (n === this._buffers[0].length) return this._buffers.shift();
			if (n < this._buffers[0].length) {
				const buf = this._buffers[0];
				this._buffers[0] = new FastBuffer(buf.buffer, buf.byteOffset + n, buf.length - n);
				return new FastBuffer(buf.buffer, buf.byteOffset, n);
			}
			const dst = Buffer.allocUnsafe(n);
			do {
				const buf = this._buffers[0];
				const offset = dst.length - n;
				if (n >= buf.length) dst.set(this._buffers.shift(), offset);
				else {
					dst.set(new Uint8Array(buf.buffer, buf.byteOffset, n), offset);
					this._buffers[0] = new FastBuffer(buf.buffer, buf.byteOffset + n, buf.length - n);
				}
				n -= buf.length;
			} while (n > 0);
			return dst;
		}
		/**
		* Starts the parsing loop.
		*
		* @param {Function} cb Callback
		* @private
		*/
		startLoop(cb) {
			this._loop = true;
			do
				switch (this._state) {
					case GET_INFO:
						this.getInfo(cb);
						break;
					case GET_PAYLOAD_LENGTH_16:
						this.getPayloadLength16(cb);
						break;
					case GET_PAYLOAD_LENGTH_64:
						this.getPayloadLength64(cb);
						break;
					case GET_MASK:
						this.getMask();
						break;
					case GET_DATA:
						this.getData(cb);
						break;
					case INFLATING:
					case DEFER_EVENT:
						this._loop = false;
						return;
				}
			while (this._loop);
			if (!this._errored) cb();
		}
		/**
		* Reads the first two bytes of a frame.
		*
		* @param {Function} cb Callback
		* @private
		*/
		getInfo(cb) {
			if (this._bufferedBytes < 2) {
				this._loop = false;
				return;
			}
			const buf = this.consume(2);
			if ((buf[0] & 48) !== 0) {
				cb(this.createError(RangeError, "RSV2 and RSV3 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_2_3"));
				return;
			}
			const compressed = (buf[0] & 64) === 64;
			if (compressed && !this._extensions[PerMessageDeflate.extensionName]) {
				cb(this.createError(RangeError, "RSV1 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_1"));
				return;
			}
			this._fin = (buf[0] & 128) === 128;
			this._opcode = buf[0] & 15;
			this._payloadLength = buf[1] & 127;
			if (this._opcode === 0) {
				if (compressed) {
					cb(this.createError(RangeError, "RSV1 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_1"));
					return;
				}
				if (!this._fragmented) {
					cb(this.createError(RangeError, "invalid opcode 0", true, 1002, "WS_ERR_INVALID_OPCODE"));
					return;
				}
				this._opcode = this._fragmented;
			} else if (this._opcode === 1 || this._opcode === 2) {
				if (this._fragmented) {
					cb(this.createError(RangeError, `invalid opcode ${this._opcode}`, true, 1002, "WS_ERR_INVALID_OPCODE"));
					return;
				}
				this._compressed = compressed;
			} else if (this._opcode > 7 && this._opcode < 11) {
				if (!this._fin) {
					cb(this.createError(RangeError, "FIN must be set", true, 1002, "WS_ERR_EXPECTED_FIN"));
					return;
				}
				if (compressed) {
					cb(this.createError(RangeError, "RSV1 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_1"));
					return;
				}
				if (this._payloadLength > 125 || this._opcode === 8 && this._payloadLength === 1) {
					cb(this.createError(RangeError, `invalid payload length ${this._payloadLength}`, true, 1002, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH"));
					return;
				}
			} else {
				cb(this.createError(RangeError, `invalid opcode ${this._opcode}`, true, 1002, "WS_ERR_INVALID_OPCODE"));
				return;
			}
			if (!this._fin && !this._fragmented) this._fragmented = this._opcode;
			this._masked = (buf[1] & 128) === 128;
			if (this._isServer) {
				if (!this._masked) {
					cb(this.createError(RangeError, "MASK must be set", true, 1002, "WS_ERR_EXPECTED_MASK"));
					return;
				}
			} else if (this._masked) {
				cb(this.createError(RangeError, "MASK must be clear", true, 1002, "WS_ERR_UNEXPECTED_MASK"));
				return;
			}
			if (this._payloadLength === 126) this._state = GET_PAYLOAD_LENGTH_16;
			else if (this._payloadLength === 127) this._state = GET_PAYLOAD_LENGTH_64;
			else this.haveLength(cb);
		}
		/**
		* Gets extended payload length (7+16).
		*
		* @param {Function} cb Callback
		* @private
		*/
		getPayloadLength16(cb) {
			if (this._bufferedBytes < 2) {
				this._loop = false;
				return;
			}
			this._payloadLength = this.consume(2).readUInt16BE(0);
			this.haveLength(cb);
		}
		/**
		* Gets extended payload length (7+64).
		*
		* @param {Function} cb Callback
		* @private
		*/
		getPayloadLength64(cb) {
			if (this._bufferedBytes < 8) {
				this._loop = false;
				return;
			}
			const buf = this.consume(8);
			const num = buf.readUInt32BE(0);
			if (num > Math.pow(2, 21) - 1) {
				cb(this.createError(RangeError, "Unsupported WebSocket frame: payload length > 2^53 - 1", false, 1009, "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH"));
				return;
			}
			this._payloadLength = num * Math.pow(2, 32) + buf.readUInt32BE(4);
			this.haveLength(cb);
		}
		/**
		* Payload length has been read.
		*
		* @param {Function} cb Callback
		* @private
		*/
		haveLength(cb) {
			if (this._payloadLength && this._opcode < 8) {
				this._totalPayloadLength += this._payloadLength;
				if (this._totalPayloadLength > this._maxPayload && this._maxPayload > 0) {
					cb(this.createError(RangeError, "Max payload size exceeded", false, 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"));
					return;
				}
			}
			if (this._masked) this._state = GET_MASK;
			else this._state = GET_DATA;
		}
		/**
		* Reads mask bytes.
		*
		* @private
		*/
		getMask() {
			if (this._bufferedBytes < 4) {
				this._loop = false;
				return;
			}
			this._mask = this.consume(4);
			this._state = GET_DATA;
		}
		/**
		* Reads data bytes.
		*
		* @param {Function} cb Callback
		* @private
		*/
		getData(cb) {
			let data = EMPTY_BUFFER;
			if (this._payloadLength) {
				if (this._bufferedBytes < this._payloadLength) {
					this._loop = false;
					return;
				}
				data = this.consume(this._payloadLength);
				if (this._masked && (this._mask[0] | this._mask[1] | this._mask[2] | this._mask[3]) !== 0) unmask(data, this._mask);
			}
			if (this._opcode > 7) {
				this.controlMessage(data, cb);
				return;
			}
			if (this._compressed) {
				this._state = INFLATING;
				this.decompress(data, cb);
				return;
			}
			if (data.length) {
				this._messageLength = this._totalPayloadLength;
				this._fragments.push(data);
			}
			this.dataMessage(cb);
		}
		/**
		* Decompresses data.
		*
		* @param {Buffer} data Compressed data
		* @param {Function} cb Callback
		* @private
		*/
		decompress(data, cb) {
			this._extensions[PerMessageDeflate.extensionName].decompress(data, this._fin, (err, buf) => {
				if (err) return cb(err);
				if (buf.length) {
					this._messageLength += buf.length;
					if (this._messageLength > this._maxPayload && this._maxPayload > 0) {
						cb(this.createError(RangeError, "Max payload size exceeded", false, 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"));
						return;
					}
					this._fragments.push(buf);
				}
				this.dataMessage(cb);
				if (this._state === GET_INFO) this.startLoop(cb);
			});
		}
		/**
		* Handles a data message.
		*
		* @param {Function} cb Callback
		* @private
		*/
		dataMessage(cb) {
			if (!this._fin) {
				this._state = GET_INFO;
				return;
			}
			const messageLength = this._messageLength;
			const fragments = this._fragments;
			this._totalPayloadLength = 0;
			this._messageLength = 0;
			this._fragmented = 0;
			this._fragments = [];
			if (this._opcode === 2) {
				let data;
				if (this._binaryType === "nodebuffer") data = concat(fragments, messageLength);
				else if (this._binaryType === "arraybuffer") data = toArrayBuffer(concat(fragments, messageLength));
				else if (this._binaryType === "blob") data = new Blob(fragments);
				else data = fragments;
				if (this._allowSynchronousEvents) {
					this.emit("message", data, true);
					this._state = GET_INFO;
				} else {
					this._state = DEFER_EVENT;
					setImmediate(() => {
						this.emit("message", data, true);
						this._state = GET_INFO;
						this.startLoop(cb);
					});
				}
			} else {
				const buf = concat(fragments, messageLength);
				if (!this._skipUTF8Validation && !isValidUTF8(buf)) {
					cb(this.createError(Error, "invalid UTF-8 sequence", true, 1007, "WS_ERR_INVALID_UTF8"));
					return;
				}
				if (this._state === INFLATING || this._allowSynchronousEvents) {
					this.emit("message", buf, false);
					this._state = GET_INFO;
				} else {
					this._state = DEFER_EVENT;
					setImmediate(() => {
						this.emit("message", buf, false);
						this._state = GET_INFO;
						this.startLoop(cb);
					});
				}
			}
		}
		/**
		* Handles a control message.
		*
		* @param {Buffer} data Data to handle
		* @return {(Error|RangeError|undefined)} A possible error
		* @private
		*/
		controlMessage(data, cb) {
			if (this._opcode === 8) {
				if (data.length === 0) {
					this._loop = false;
					this.emit("conclude", 1005, EMPTY_BUFFER);
					this.end();
				} else {
					const code = data.readUInt16BE(0);
					if (!isValidStatusCode(code)) {
						cb(this.createError(RangeError, `invalid status code ${code}`, true, 1002, "WS_ERR_INVALID_CLOSE_CODE"));
						return;
					}
					const buf = new FastBuffer(data.buffer, data.byteOffset + 2, data.length - 2);
					if (!this._skipUTF8Validation && !isValidUTF8(buf)) {
						cb(this.createError(Error, "invalid UTF-8 sequence", true, 1007, "WS_ERR_INVALID_UTF8"));
						return;
					}
					this._loop = false;
					this.emit("conclude", code, buf);
					this.end();
				}
				this._state = GET_INFO;
				return;
			}
			if (this._allowSynchronousEvents) {
				this.emit(this._opcode === 9 ? "ping" : "pong", data);
				this._state = GET_INFO;
			} else {
				this._state = DEFER_EVENT;
				setImmediate(() => {
					this.emit(this._opcode === 9 ? "ping" : "pong", data);
					this._state = GET_INFO;
					this.startLoop(cb);
				});
			}
		}
		/**
		* Builds an error object.
		*
		* @param {function(new:Error|RangeError)} ErrorCtor The error constructor
		* @param {String} message The error message
		* @param {Boolean} prefix Specifies whether or not to add a default prefix to
		*     `message`
		* @param {Number} statusCode The status code
		* @param {String} errorCode The exposed error code
		* @return {(Error|RangeError)} The error
		* @private
		*/
		createError(ErrorCtor, message, prefix, statusCode, errorCode) {
			this._loop = false;
			this._errored = true;
			const err = new ErrorCtor(prefix ? `Invalid WebSocket frame: ${message}` : message);
			Error.captureStackTrace(err, this.createError);
			err.code = errorCode;
			err[kStatusCode] = statusCode;
			return err;
		}
	};
	module.exports = Receiver;
}));
// node_modules/ws/lib/sender.js
var require_sender = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { Duplex } = __require("stream");
	var { randomFillSync } = __require("crypto");
	var PerMessageDeflate = require_permessage_deflate();
	var { EMPTY_BUFFER, kWebSocket, NOOP } = require_constants();
	var { isBlob, isValidStatusCode } = require_validation();
	var { mask: applyMask, toBuffer } = require_buffer_util();
	var kByteLength = Symbol("kByteLength");
	var maskBuffer = Buffer.alloc(4);
	var RANDOM_POOL_SIZE = 8192;
	var randomPool;
	var randomPoolPointer = RANDOM_POOL_SIZE;
	var DEFAULT = 0;
	var DEFLATING = 1;
	var GET_BLOB_DATA = 2;
	module.exports = class Sender {
		/**
		* Creates a Sender instance.
		*
		* @param {Duplex} socket The connection socket
		* @param {Object} [extensions] An object containing the negotiated extensions
		* @param {Function} [generateMask] The function used to generate the masking
		*     key
		*/
		constructor(socket, extensions, generateMask) {
			this._extensions = extensions || {};
			if (generateMask) {
				this._generateMask = generateMask;
				this._maskBuffer = Buffer.alloc(4);
			}
			this._socket = socket;
			this._firstFragment = true;
			this._compress = false;
			this._bufferedBytes = 0;
			this._queue = [];
			this._state = DEFAULT;
			this.onerror = NOOP;
			this[kWebSocket] = void 0;
		}
		/**
		* Frames a piece of data according to the HyBi WebSocket protocol.
		*
		* @param {(Buffer|String)} data The data to frame
		* @param {Object} options Options object
		* @param {Boolean} [options.fin=false] Specifies whether or not to set the
		*     FIN bit
		* @param {Function} [options.generateMask] The function used to generate the
		*     masking key
		* @param {Boolean} [options.mask=false] Specifies whether or not to mask
		*     `data`
		* @param {Buffer} [options.maskBuffer] The buffer used to store the masking
		*     key
		* @param {Number} options.opcode The opcode
		* @param {Boolean} [options.readOnly=false] Specifies whether `data` can be
		*     modified
		* @param {Boolean} [options.rsv1=false] Specifies whether or not to set the
		*     RSV1 bit
		* @return {(Buffer|String)[]} The framed data
		* @public
		*/
		static frame(data, options) {
			let mask;
			let merge = false;
			let offset = 2;
			let skipMasking = false;
			if (options.mask) {
				mask = options.maskBuffer || maskBuffer;
				if (options.generateMask) options.generateMask(mask);
				else {
					if (randomPoolPointer === RANDOM_POOL_SIZE) {
						/* istanbul ignore else  */
						if (randomPool === void 0) randomPool = Buffer.alloc(RANDOM_POOL_SIZE);
						randomFillSync(randomPool, 0, RANDOM_POOL_SIZE);
						randomPoolPointer = 0;
					}
					mask[0] = randomPool[randomPoolPointer++];
					mask[1] = randomPool[randomPoolPointer++];
					mask[2] = randomPool[randomPoolPointer++];
					mask[3] = randomPool[randomPoolPointer++];
				}
				skipMasking = (mask[0] | mask[1] | mask[2] | mask[3]) === 0;
				offset = 6;
			}
			let dataLength;
			if (typeof data === "string") {
				if ((!options.mask || skipMasking) && options[kByteLength] !== void 0) dataLength = options[kByteLength];
				else {
					data = Buffer.from(data);
					dataLength = data.length;
				}
			} else {
				dataLength = data.length;
				merge = options.mask && options.readOnly && !skipMasking;
			}
			let payloadLength = dataLength;
			if (dataLength >= 65536) {
				offset += 8;
				payloadLength = 127;
			} else if (dataLength > 125) {
				offset += 2;
				payloadLength = 126;
			}
			const target = Buffer.allocUnsafe(merge ? dataLength + offset : offset);
			target[0] = options.fin ? options.opcode | 128 : options.opcode;
			if (options.rsv1) target[0] |= 64;
			target[1] = payloadLength;
			if (payloadLength === 126) target.writeUInt16BE(dataLength, 2);
			else if (payloadLength === 127) {
				target[2] = target[3] = 0;
				target.writeUIntBE(dataLength, 4, 6);
			}
			if (!options.mask) return [target, data];
			target[1] |= 128;
			target[offset - 4] = mask[0];
			target[offset - 3] = mask[1];
			target[offset - 2] = mask[2];
			target[offset - 1] = mask[3];
			if (skipMasking) return [target, data];
			if (merge) {
				applyMask(data, mask, target, offset, dataLength);
				return [target];
			}
			applyMask(data, mask, data, 0, dataLength);
			return [target, data];
		}
		/**
		* Sends a close message to the other peer.
		*
		* @param {Number} [code] The status code component of the body
		* @param {(String|Buffer)} [data] The message component of the body
		* @param {Boolean} [mask=false] Specifies whether or not to mask the message
		* @param {Function} [cb] Callback
		* @public
		*/
		close(code, data, mask, cb) {
			let buf;
			if (code === void 0) buf = EMPTY_BUFFER;
			else if (typeof code !== "number" || !isValidStatusCode(code)) throw new TypeError("First argument must be a valid error code number");
			else if (data === void 0 || !data.length) {
				buf = Buffer.allocUnsafe(2);
				buf.writeUInt16BE(code, 0);
			} else {
				const length = Buffer.byteLength(data);
				if (length > 123) throw new RangeError("The message must not be greater than 123 bytes");
				buf = Buffer.allocUnsafe(2 + length);
				buf.writeUInt16BE(code, 0);
				if (typeof data === "string") buf.write(data, 2);
				else buf.set(data, 2);
			}
			const options = {
				[kByteLength]: buf.length,
				fin: true,
				generateMask: this._generateMask,
				mask,
				maskBuffer: this._maskBuffer,
				opcode: 8,
				readOnly: false,
				rsv1: false
			};
			if (this._state !== DEFAULT) this.enqueue([
				this.dispatch,
				buf,
				false,
				options,
				cb
			]);
			else this.sendFrame(Sender.frame(buf, options), cb);
		}
		/**
		* Sends a ping message to the other peer.
		*
		* @param {*} data The message to send
		* @param {Boolean} [mask=false] Specifies whether or not to mask `data`
		* @param {Function} [cb] Callback
		* @public
		*/
		ping(data, mask, cb) {
			let byteLength;
			let readOnly;
			if (typeof data === "string") {
				byteLength = Buffer.byteLength(data);
				readOnly = false;
			} else if (isBlob(data)) {
				byteLength = data.size;
				readOnly = false;
			} else {
				data = toBuffer(data);
				byteLength = data.length;
				readOnly = toBuffer.readOnly;
			}
			if (byteLength > 125) throw new RangeError("The data size must not be greater than 125 bytes");
			const options = {
				[kByteLength]: byteLength,
				fin: true,
				generateMask: this._generateMask,
				mask,
				maskBuffer: this._maskBuffer,
				opcode: 9,
				readOnly,
				rsv1: false
			};
			if (isBlob(data)) {
				if (this._state !== DEFAULT) this.enqueue([
					this.getBlobData,
					data,
					false,
					options,
					cb
				]);
				else this.getBlobData(data, false, options, cb);
			} else if (this._state !== DEFAULT) this.enqueue([
				this.dispatch,
				data,
				false,
				options,
				cb
			]);
			else this.sendFrame(Sender.frame(data, options), cb);
		}
		/**
		* Sends a pong message to the other peer.
		*
		* @param {*} data The message to send
		* @param {Boolean} [mask=false] Specifies whether or not to mask `data`
		* @param {Function} [cb] Callback
		* @public
		*/
		pong(data, mask, cb) {
			let byteLength;
			let readOnly;
			if (typeof data === "string") {
				byteLength = Buffer.byteLength(data);
				readOnly = false;
			} else if (isBlob(data)) {
				byteLength = data.size;
				readOnly = false;
			} else {
				data = toBuffer(data);
				byteLength = data.length;
				readOnly = toBuffer.readOnly;
			}
			if (byteLength > 125) throw new RangeError("The data size must not be greater than 125 bytes");
			const options = {
				[kByteLength]: byteLength,
				fin: true,
				generateMask: this._generateMask,
				mask,
				maskBuffer: this._maskBuffer,
				opcode: 10,
				readOnly,
				rsv1: false
			};
			if (isBlob(data)) {
				if (this._state !== DEFAULT) this.enqueue([
					this.getBlobData,
					data,
					false,
					options,
					cb
				]);
				else this.getBlobData(data, false, options, cb);
			} else if (this._state !== DEFAULT) this.enqueue([
				this.dispatch,
				data,
				false,
				options,
				cb
			]);
			else this.sendFrame(Sender.frame(data, options), cb);
		}
		/**
		* Sends a data message to the other peer.
		*
		* @param {*} data The message to send
		* @param {Object} options Options object
		* @param {Boolean} [options.binary=false] Specifies whether `data` is binary
		*     or text
		* @param {Boolean} [options.compress=false] Specifies whether or not to
		*     compress `data`
		* @param {Boolean} [options.fin=false] Specifies whether the fragment is the
		*     last one
		* @param {Boolean} [options.mask=false] Specifies whether or not to mask
		*     `data`
		* @param {Function} [cb] Callback
		* @public
		*/
		send(data, options, cb) {
			const perMessageDeflate = this._extensions[PerMessageDeflate.extensionName];
			let opcode = options.binary ? 2 : 1;
			let rsv1 = options.compress;
			let byteLength;
			let readOnly;
			if (typeof data === "string") {
				byteLength = Buffer.byteLength(data);
				readOnly = false;
			} else if (isBlob(data)) {
				byteLength = data.size;
				readOnly = false;
			} else {
				data = toBuffer(data);
				byteLength = data.length;
				readOnly = toBuffer.readOnly;
			}
			if (this._firstFragment) {
				this._firstFragment = false;
				if (rsv1 && perMessageDeflate && perMessageDeflate.params[perMessageDeflate._isServer ? "server_no_context_takeover" : "client_no_context_takeover"]) rsv1 = byteLength >= perMessageDeflate._threshold;
				this._compress = rsv1;
			} else {
				rsv1 = false;
				opcode = 0;
			}
			if (options.fin) this._firstFragment = true;
			const opts = {
				[kByteLength]: byteLength,
				fin: options.fin,
				generateMask: this._generateMask,
				mask: options.mask,
				maskBuffer: this._maskBuffer,
				opcode,
				readOnly,
				rsv1
			};
			if (isBlob(data)) {
				if (this._state !== DEFAULT) this.enqueue([
					this.getBlobData,
					data,
					this._compress,
					opts,
					cb
				]);
				else this.getBlobData(data, this._compress, opts, cb);
			} else if (this._state !== DEFAULT) this.enqueue([
				this.dispatch,
				data,
				this._compress,
				opts,
				cb
			]);
			else this.dispatch(data, this._compress, opts, cb);
		}
		/**
		* Gets the contents of a blob as binary data.
		*
		* @param {Blob} blob The blob
		* @param {Boolean} [compress=false] Specifies whether or not to compress
		*     the data
		* @param {Object} options Options object
		* @param {Boolean} [options.fin=false] Specifies whether or not to set the
		*     FIN bit
		* @param {Function} [options.generateMask] The function used to generate the
		*     masking key
		* @param {Boolean} [options.mask=false] Specifies whether or not to mask
		*     `data`
		* @param {Buffer} [options.maskBuffer] The buffer used to store the masking
		*     key
		* @param {Number} options.opcode The opcode
		* @param {Boolean} [options.readOnly=false] Specifies whether `data` can be
		*     modified
		* @param {Boolean} [options.rsv1=false] Specifies whether or not to set the
		*     RSV1 bit
		* @param {Function} [cb] Callback
		* @private
		*/
		getBlobData(blob, compress, options, cb) {
			this._bufferedBytes += options[kByteLength];
			this._state = GET_BLOB_DATA;
			blob.arrayBuffer().then((arrayBuffer) => {
				if (this._socket.destroyed) {
					const err = /* @__PURE__ */ new Error("The socket was closed while the blob was being read");
					process.nextTick(callCallbacks, this, err, cb);
					return;
				}
				this._bufferedBytes -= options[kByteLength];
				const data = toBuffer(arrayBuffer);
				if (!compress) {
					this._state = DEFAULT;
					this.sendFrame(Sender.frame(data, options), cb);
					this.dequeue();
				} else this.dispatch(data, compress, options, cb);
			}).catch((err) => {
				process.nextTick(onError, this, err, cb);
			});
		}
		/**
		* Dispatches a message.
		*
		* @param {(Buffer|String)} data The message to send
		* @param {Boolean} [compress=false] Specifies whether or not to compress
		*     `data`
		* @param {Object} options Options object
		* @param {Boolean} [options.fin=false] Specifies whether or not to set the
		*     FIN bit
		* @param {Function} [options.generateMask] The function used to generate the
		*     masking key
		* @param {Boolean} [options.mask=false] Specifies whether or not to mask
		*     `data`
		* @param {Buffer} [options.maskBuffer] The buffer used to store the masking
		*     key
		* @param {Number} options.opcode The opcode
		* @param {Boolean} [options.readOnly=false] Specifies whether `data` can be
		*     modified
		* @param {Boolean} [options.rsv1=false] Specifies whether or not to set the
		*     RSV1 bit
		* @param {Function} [cb] Callback
		* @private
		*/
		dispatch(data, compress, options, cb) {
			if (!compress) {
				this.sendFrame(Sender.frame(data, options), cb);
				return;
			}
			const perMessageDeflate = this._extensions[PerMessageDeflate.extensionName];
			this._bufferedBytes += options[kByteLength];
			this._state = DEFLATING;
			perMessageDeflate.compress(data, options.fin, (_, buf) => {
				if (this._socket.destroyed) {
					const err = /* @__PURE__ */ new Error("The socket was closed while data was being compressed");
					callCallbacks(this, err, cb);
					return;
				}
				this._bufferedBytes -= options[kByteLength];
				this._state = DEFAULT;
				options.readOnly = false;
				this.sendFrame(Sender.frame(buf, options), cb);
				this.dequeue();
			});
		}
		/**
		* Executes queued send operations.
		*
		* @private
		*/
		dequeue() {
			while (this._state === DEFAULT && this._queue.length) {
				const params = this._queue.shift();
				this._bufferedBytes -= params[3][kByteLength];
				Reflect.apply(params[0], this, params.slice(1));
			}
		}
		/**
		* Enqueues a send operation.
		*
		* @param {Array} params Send operation parameters.
		* @private
		*/
		enqueue(params) {
			this._bufferedBytes += params[3][kByteLength];
			this._queue.push(params);
		}
		/**
		* Sends a frame.
		*
		* @param {(Buffer | String)[]} list The frame to send
		* @param {Function} [cb] Callback
		* @private
		*/
		sendFrame(list, cb) {
			if (list.length === 2) {
				this._socket.cork();
				this._socket.write(list[0]);
				this._socket.write(list[1], cb);
				this._socket.uncork();
			} else this._socket.write(list[0], cb);
		}
	};
	/**
	* Calls queued callbacks with an error.
	*
	* @param {Sender} sender The `Sender` instance
	* @param {Error} err The error to call the callbacks with
	* @param {Function} [cb] The first callback
	* @private
	*/
	function callCallbacks(sender, err, cb) {
		if (typeof cb === "function") cb(err);
		for (let i = 0; i < sender._queue.length; i++) {
			const params = sender._queue[i];
			const callback = params[params.length - 1];
			if (typeof callback === "function") callback(err);
		}
	}
	/**
	* Handles a `Sender` error.
	*
	* @param {Sender} sender The `Sender` instance
	* @param {Error} err The error
	* @param {Function} [cb] The first pending callback
	* @private
	*/
	function onError(sender, err, cb) {
		callCallbacks(sender, err, cb);
		sender.onerror(err);
	}
}));
// node_modules/ws/lib/event-target.js
var require_event_target = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { kForOnEventAttribute, kListener } = require_constants();
	var kCode = Symbol("kCode");
	var kData = Symbol("kData");
	var kError = Symbol("kError");
	var kMessage = Symbol("kMessage");
	var kReason = Symbol("kReason");
	var kTarget = Symbol("kTarget");
	var kType = Symbol("kType");
	var kWasClean = Symbol("kWasClean");
	/**
	* Class representing an event.
	*/
	var Event = class {
		/**
		* Create a new `Event`.
		*
		* @param {String} type The name of the event
		* @throws {TypeError} If the `type` argument is not specified
		*/
		constructor(type) {
			this[kTarget] = null;
			this[kType] = type;
		}
		/**
		* @type {*}
		*/
		get target() {
			return this[kTarget];
		}
		/**
		* @type {String}
		*/
		get type() {
			return this[kType];
		}
	};
	Object.defineProperty(Event.prototype, "target", { enumerable: true });
	Object.defineProperty(Event.prototype, "type", { enumerable: true });
	/**
	* Class representing a close event.
	*
	* @extends Event
	*/
	var CloseEvent = class extends Event {
		/**
		* Create a new `CloseEvent`.
		*
		* @param {String} type The name of the event
		* @param {Object} [options] A dictionary object that allows for setting
		*     attributes via object members of the same name
		* @param {Number} [options.code=0] The status code explaining why the
		*     connection was closed
		* @param {String} [options.reason=''] A human-readable string explaining why
		*     the connection was closed
		* @param {Boolean} [options.wasClean=false] Indicates whether or not the
		*     connection was cleanly closed
		*/
		constructor(type, options = {}) {
			super(type);
			this[kCode] = options.code === void 0 ? 0 : options.code;
			this[kReason] = options.reason === void 0 ? "" : options.reason;
			this[kWasClean] = options.wasClean === void 0 ? false : options.wasClean;
		}
		/**
		* @type {Number}
		*/
		get code() {
			return this[kCode];
		}
		/**
		* @type {String}
		*/
		get reason() {
			return this[kReason];
		}
		/**
		* @type {Boolean}
		*/
		get wasClean() {
			return this[kWasClean];
		}
	};
	Object.defineProperty(CloseEvent.prototype, "code", { enumerable: true });
	Object.defineProperty(CloseEvent.prototype, "reason", { enumerable: true });
	Object.defineProperty(CloseEvent.prototype, "wasClean", { enumerable: true });
	/**
	* Class representing an error event.
	*
	* @extends Event
	*/
	var ErrorEvent = class extends Event {
		/**
		* Create a new `ErrorEvent`.
		*
		* @param {String} type The name of the event
		* @param {Object} [options] A dictionary object that allows for setting
		*     attributes via object members of the same name
		* @param {*} [options.error=null] The error that generated this event
		* @param {String} [options.message=''] The error message
		*/
		constructor(type, options = {}) {
			super(type);
			this[kError] = options.error === void 0 ? null : options.error;
			this[kMessage] = options.message === void 0 ? "" : options.message;
		}
		/**
		* @type {*}
		*/
		get error() {
			return this[kError];
		}
		/**
		* @type {String}
		*/
		get message() {
			return this[kMessage];
		}
	};
	Object.defineProperty(ErrorEvent.prototype, "error", { enumerable: true });
	Object.defineProperty(ErrorEvent.prototype, "message", { enumerable: true });
	/**
	* Class representing a message event.
	*
	* @extends Event
	*/
	var MessageEvent = class extends Event {
		/**
		* Create a new `MessageEvent`.
		*
		* @param {String} type The name of the event
		* @param {Object} [options] A dictionary object that allows for setting
		*     attributes via object members of the same name
		* @param {*} [options.data=null] The message content
		*/
		constructor(type, options = {}) {
			super(type);
			this[kData] = options.data === void 0 ? null : options.data;
		}
		/**
		* @type {*}
		*/
		get data() {
			return this[kData];
		}
	};
	Object.defineProperty(MessageEvent.prototype, "data", { enumerable: true });
	module.exports = {
		CloseEvent,
		ErrorEvent,
		Event,
		EventTarget: {
			/**
			* Register an event listener.
			*
			* @param {String} type A string representing the event type to listen for
			* @param {(Function|Object)} handler The listener to add
			* @param {Object} [options] An options object specifies characteristics about
			*     the event listener
			* @param {Boolean} [options.once=false] A `Boolean` indicating that the
			*     listener should be invoked at most once after being added. If `true`,
			*     the listener would be automatically removed when invoked.
			* @public
			*/
			addEventListener(type, handler, options = {}) {
				for (const listener of this.listeners(type)) if (!options[kForOnEventAttribute] && listener[kListener] === handler && !listener[kForOnEventAttribute]) return;
				let wrapper;
				if (type === "message") wrapper = function onMessage(data, isBinary) {
					const event = new MessageEvent("message", { data: isBinary ? data : data.toString() });
					event[kTarget] = this;
					callListener(handler, this, event);
				};
				else if (type === "close") wrapper = function onClose(code, message) {
					const event = new CloseEvent("close", {
						code,
						reason: message.toString(),
						wasClean: this._closeFrameReceived && this._closeFrameSent
					});
					event[kTarget] = this;
					callListener(handler, this, event);
				};
				else if (type === "error") wrapper = function onError(error) {
					const event = new ErrorEvent("error", {
						error,
						message: error.message
					});
					event[kTarget] = this;
					callListener(handler, this, event);
				};
				else if (type === "open") wrapper = function onOpen() {
					const event = new Event("open");
					event[kTarget] = this;
					callListener(handler, this, event);
				};
				else return;
				wrapper[kForOnEventAttribute] = !!options[kForOnEventAttribute];
				wrapper[kListener] = handler;
				if (options.once) this.once(type, wrapper);
				else this.on(type, wrapper);
			},
			/**
			* Remove an event listener.
			*
			* @param {String} type A string representing the event type to remove
			* @param {(Function|Object)} handler The listener to remove
			* @public
			*/
			removeEventListener(type, handler) {
				for (const listener of this.listeners(type)) if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
					this.removeListener(type, listener);
					break;
				}
			}
		},
		MessageEvent
	};
	/**
	* Call an event listener
	*
	* @param {(Function|Object)} listener The listener to call
	* @param {*} thisArg The value to use as `this`` when calling the listener
	* @param {Event} event The event to pass to the listener
	* @private
	*/
	function callListener(listener, thisArg, event) {
		if (typeof listener === "object" && listener.handleEvent) listener.handleEvent.call(listener, event);
		else listener.call(thisArg, event);
	}
}));
// node_modules/ws/lib/extension.js
var require_extension = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { tokenChars } = require_validation();
	/**
	* Adds an offer to the map of extension offers or a parameter to the map of
	* parameters.
	*
	* @param {Object} dest The map of extension offers or parameters
	* @param {String} name The extension or parameter name
	* @param {(Object|Boolean|String)} elem The extension parameters or the
	*     parameter value
	* @private
	*/
	function push(dest, name, elem) {
		if (dest[name] === void 0) dest[name] = [elem];
		else dest[name].push(elem);
	}
	/**
	* Parses the `Sec-WebSocket-Extensions` header into an object.
	*
	* @param {String} header The field value of the header
	* @return {Object} The parsed object
	* @public
	*/
	function parse(header) {
		const offers = Object.create(null);
		let params = Object.create(null);
		let mustUnescape = false;
		let isEscaping = false;
		let inQuotes = false;
		let extensionName;
		let paramName;
		let start = -1;
		let code = -1;
		let end = -1;
		let i = 0;
		for (; i < header.length; i++) {
			code = header.charCodeAt(i);
			if (extensionName === void 0) {
				if (end === -1 && tokenChars[code] === 1) {
					if (start === -1) start = i;
				} else if (i !== 0 && (code === 32 || code === 9)) {
					if (end === -1 && start !== -1) end = i;
				} else if (code === 59 || code === 44) {
					if (start === -1) throw new SyntaxError(`Unexpected character at index ${i}`);
					if (end === -1) end = i;
					const name = header.slice(start, end);
					if (code === 44) {
						push(offers, name, params);
						params = Object.create(null);
					} else extensionName = name;
					start = end = -1;
				} else throw new SyntaxError(`Unexpected character at index ${i}`);
			} else if (paramName === void 0) {
				if (end === -1 && tokenChars[code] === 1) {
					if (start === -1) start = i;
				} else if (code === 32 || code === 9) {
					if (end === -1 && start !== -1) end = i;
				} else if (code === 59 || code === 44) {
					if (start === -1) throw new SyntaxError(`Unexpected character at index ${i}`);
					if (end === -1) end = i;
					push(params, header.slice(start, end), true);
					if (code === 44) {
						push(offers, extensionName, params);
						params = Object.create(null);
						extensionName = void 0;
					}
					start = end = -1;
				} else if (code === 61 && start !== -1 && end === -1) {
					paramName = header.slice(start, i);
					start = end = -1;
				} else throw new SyntaxError(`Unexpected character at index ${i}`);
			} else if (isEscaping) {
				if (tokenChars[code] !== 1) throw new SyntaxError(`Unexpected character at index ${i}`);
				if (start === -1) start = i;
				else if (!mustUnescape) mustUnescape = true;
				isEscaping = false;
			} else if (inQuotes) {
				if (tokenChars[code] === 1) {
					if (start === -1) start = i;
				} else if (code === 34 && start !== -1) {
					inQuotes = false;
					end = i;
				} else if (code === 92) isEscaping = true;
				else throw new SyntaxError(`Unexpected character at index ${i}`);
			} else if (code === 34 && header.charCodeAt(i - 1) === 61) inQuotes = true;
			else if (end === -1 && tokenChars[code] === 1) {
				if (start === -1) start = i;
			} else if (start !== -1 && (code === 32 || code === 9)) {
				if (end === -1) end = i;
			} else if (code === 59 || code === 44) {
				if (start === -1) throw new SyntaxError(`Unexpected character at index ${i}`);
				if (end === -1) end = i;
				let value = header.slice(start, end);
				if (mustUnescape) {
					value = value.replace(/\\/g, "");
					mustUnescape = false;
				}
				push(params, paramName, value);
				if (code === 44) {
					push(offers, extensionName, params);
					params = Object.create(null);
					extensionName = void 0;
				}
				paramName = void 0;
				start = end = -1;
			} else throw new SyntaxError(`Unexpected character at index ${i}`);
		}
		if (start === -1 || inQuotes || code === 32 || code === 9) throw new SyntaxError("Unexpected end of input");
		if (end === -1) end = i;
		const token = header.slice(start, end);
		if (extensionName === void 0) push(offers, token, params);
		else {
			if (paramName === void 0) push(params, token, true);
			else if (mustUnescape) push(params, paramName, token.replace(/\\/g, ""));
			else push(params, paramName, token);
			push(offers, extensionName, params);
		}
		return offers;
	}
	/**
	* Builds the `Sec-WebSocket-Extensions` header field value.
	*
	* @param {Object} extensions The map of extensions and parameters to format
	* @return {String} A string representing the given object
	* @public
	*/
	function format(extensions) {
		return Object.keys(extensions).map((extension) => {
			let configurations = extensions[extension];
			if (!Array.isArray(configurations)) configurations = [configurations];
			return configurations.map((params) => {
				return [extension].concat(Object.keys(params).map((k) => {
					let values = params[k];
					if (!Array.isArray(values)) values = [values];
					return values.map((v) => v === true ? k : `${k}=${v}`).join("; ");
				})).join("; ");
			}).join(", ");
		}).join(", ");
	}
	module.exports = {
		format,
		parse
	};
}));
// node_modules/ws/lib/websocket.js
var require_websocket = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var EventEmitter = __require("events");
	var https = __require("https");
	var http = __require("http");
	var net = __require("net");
	var tls = __require("tls");
	var { randomBytes, createHash } = __require("crypto");
	var { Duplex, Readable } = __require("stream");
	var { URL } = __require("url");
	var PerMessageDeflate = require_permessage_deflate();
	var Receiver = require_receiver();
	var Sender = require_sender();
	var { isBlob } = require_validation();
	var { BINARY_TYPES, EMPTY_BUFFER, GUID, kForOnEventAttribute, kListener, kStatusCode, kWebSocket, NOOP } = require_constants();
	var { EventTarget: { addEventListener, removeEventListener } } = require_event_target();
	var { format, parse } = require_extension();
	var { toBuffer } = require_buffer_util();
	var closeTimeout = 3e4;
	var kAborted = Symbol("kAborted");
	var protocolVersions = [8, 13];
	var readyStates = [
		"CONNECTING",
		"OPEN",
		"CLOSING",
		"CLOSED"
	];
	var subprotocolRegex = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
	/**
	* Class representing a WebSocket.
	*
	* @extends EventEmitter
	*/
	var WebSocket = class WebSocket extends EventEmitter {
		/**
		* Create a new `WebSocket`.
		*
		* @param {(String|URL)} address The URL to which to connect
		* @param {(String|String[])} [protocols] The subprotocols
		* @param {Object} [options] Connection options
		*/
		constructor(address, protocols, options) {
			super();
			this._binaryType = BINARY_TYPES[0];
			this._closeCode = 1006;
			this._closeFrameReceived = false;
			this._closeFrameSent = false;
			this._closeMessage = EMPTY_BUFFER;
			this._closeTimer = null;
			this._errorEmitted = false;
			this._extensions = {};
			this._paused = false;
			this._protocol = "";
			this._readyState = WebSocket.CONNECTING;
			this._receiver = null;
			this._sender = null;
			this._socket = null;
			if (address !== null) {
				this._bufferedAmount = 0;
				this._isServer = false;
				this._redirects = 0;
				if (protocols === void 0) protocols = [];
				else if (!Array.isArray(protocols)) {
					if (typeof protocols === "object" && protocols !== null) {
						options = protocols;
						protocols = [];
					} else protocols = [protocols];
				}
				initAsClient(this, address, protocols, options);
			} else {
				this._autoPong = options.autoPong;
				this._isServer = true;
			}
		}
		/**
		* For historical reasons, the custom "nodebuffer" type is used by the default
		* instead of "blob".
		*
		* @type {String}
		*/
		get binaryType() {
			return this._binaryType;
		}
		set binaryType(type) {
			if (!BINARY_TYPES.includes(type)) return;
			this._binaryType = type;
			if (this._receiver) this._receiver._binaryType = type;
		}
		/**
		* @type {Number}
		*/
		get bufferedAmount() {
			if (!this._socket) return this._bufferedAmount;
			return this._socket._writableState.length + this._sender._bufferedBytes;
		}
		/**
		* @type {String}
		*/
		get extensions() {
			return Object.keys(this._extensions).join();
		}
		/**
		* @type {Boolean}
		*/
		get isPaused() {
			return this._paused;
		}
		/**
		* @type {Function}
		*/
		/* istanbul ignore next */
		get onclose() {
			return null;
		}
		/**
		* @type {Function}
		*/
		/* istanbul ignore next */
		get onerror() {
			return null;
		}
		/**
		* @type {Function}
		*/
		/* istanbul ignore next */
		get onopen() {
			return null;
		}
		/**
		* @type {Function}
		*/
		/* istanbul ignore next */
		get onmessage() {
			return null;
		}
		/**
		* @type {String}
		*/
		get protocol() {
			return this._protocol;
		}
		/**
		* @type {Number}
		*/
		get readyState() {
			return this._readyState;
		}
		/**
		* @type {String}
		*/
		get url() {
			return this._url;
		}
		/**
		* Set up the socket and the internal resources.
		*
		* @param {Duplex} socket The network socket between the server and client
		* @param {Buffer} head The first packet of the upgraded stream
		* @param {Object} options Options object
		* @param {Boolean} [options.allowSynchronousEvents=false] Specifies whether
		*     any of the `'message'`, `'ping'`, and `'pong'` events can be emitted
		*     multiple times in the same tick
		* @param {Function} [options.generateMask] The function used to generate the
		*     masking key
		* @param {Number} [options.maxPayload=0] The maximum allowed message size
		* @param {Boolean} [options.skipUTF8Validation=false] Specifies whether or
		*     not to skip UTF-8 validation for text and close messages
		* @private
		*/
		setSocket(socket, head, options) {
			const receiver = new Receiver({
				allowSynchronousEvents: options.allowSynchronousEvents,
				binaryType: this.binaryType,
				extensions: this._extensions,
				isServer: this._isServer,
				maxPayload: options.maxPayload,
				skipUTF8Validation: options.skipUTF8Validation
			});
			const sender = new Sender(socket, this._extensions, options.generateMask);
			this._receiver = receiver;
			this._sender = sender;
			this._socket = socket;
			receiver[kWebSocket] = this;
			sender[kWebSocket] = this;
			socket[kWebSocket] = this;
			receiver.on("conclude", receiverOnConclude);
			receiver.on("drain", receiverOnDrain);
			receiver.on("error", receiverOnError);
			receiver.on("message", receiverOnMessage);
			receiver.on("ping", receiverOnPing);
			receiver.on("pong", receiverOnPong);
			sender.onerror = senderOnError;
			if (socket.setTimeout) socket.setTimeout(0);
			if (socket.setNoDelay) socket.setNoDelay();
			if (head.length > 0) socket.unshift(head);
			socket.on("close", socketOnClose);
			socket.on("data", socketOnData);
			socket.on("end", socketOnEnd);
			socket.on("error", socketOnError);
			this._readyState = WebSocket.OPEN;
			this.emit("open");
		}
		/**
		* Emit the `'close'` event.
		*
		* @private
		*/
		emitClose() {
			if (!this._socket) {
				this._readyState = WebSocket.CLOSED;
				this.emit("close", this._closeCode, this._closeMessage);
				return;
			}
			if (this._extensions[PerMessageDeflate.extensionName]) this._extensions[PerMessageDeflate.extensionName].cleanup();
			this._receiver.removeAllListeners();
			this._readyState = WebSocket.CLOSED;
			this.emit("close", this._closeCode, this._closeMessage);
		}
		/**
		* Start a closing handshake.
		*
		*          +----------+   +-----------+   +----------+
		*     - - -|ws.close()|-->|close frame|-->|ws.close()|- - -
		*    |     +----------+   +-----------+   +----------+     |
		*          +----------+   +-----------+         |
		* CLOSING  |ws.close()|<--|close frame|<--+-----+       CLOSING
		*          +----------+   +-----------+   |
		*    |           |                        |   +---+        |
		*                +------------------------+-->|fin| - - - -
		*    |         +---+                      |   +---+
		*     - - - - -|fin|<---------------------+
		*              +---+
		*
		* @param {Number} [code] Status code explaining why the connection is closing
		* @param {(String|Buffer)} [data] The reason why the connection is
		*     closing
		* @public
		*/
		close(code, data) {
			if (this.readyState === WebSocket.CLOSED) return;
			if (this.readyState === WebSocket.CONNECTING) {
				abortHandshake(this, this._req, "WebSocket was closed before the connection was established");
				return;
			}
			if (this.readyState === WebSocket.CLOSING) {
				if (this._closeFrameSent && (this._closeFrameReceived || this._receiver._writableState.errorEmitted)) this._socket.end();
				return;
			}
			this._readyState = WebSocket.CLOSING;
			this._sender.close(code, data, !this._isServer, (err) => {
				if (err) return;
				this._closeFrameSent = true;
				if (this._closeFrameReceived || this._receiver._writableState.errorEmitted) this._socket.end();
			});
			setCloseTimer(this);
		}
		/**
		* Pause the socket.
		*
		* @public
		*/
		pause() {
			if (this.readyState === WebSocket.CONNECTING || this.readyState === WebSocket.CLOSED) return;
			this._paused = true;
			this._socket.pause();
		}
		/**
		* Send a ping.
		*
		* @param {*} [data] The data to send
		* @param {Boolean} [mask] Indicates whether or not to mask `data`
		* @param {Function} [cb] Callback which is executed when the ping is sent
		* @public
		*/
		ping(data, mask, cb) {
			if (this.readyState === WebSocket.CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)");
			if (typeof data === "function") {
				cb = data;
				data = mask = void 0;
			} else if (typeof mask === "function") {
				cb = mask;
				mask = void 0;
			}
			if (typeof data === "number") data = data.toString();
			if (this.readyState !== WebSocket.OPEN) {
				sendAfterClose(this, data, cb);
				return;
			}
			if (mask === void 0) mask = !this._isServer;
			this._sender.ping(data || EMPTY_BUFFER, mask, cb);
		}
		/**
		* Send a pong.
		*
		* @param {*} [data] The data to send
		* @param {Boolean} [mask] Indicates whether or not to mask `data`
		* @param {Function} [cb] Callback which is executed when the pong is sent
		* @public
		*/
		pong(data, mask, cb) {
			if (this.readyState === WebSocket.CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)");
			if (typeof data === "function") {
				cb = data;
				data = mask = void 0;
			} else if (typeof mask === "function") {
				cb = mask;
				mask = void 0;
			}
			if (typeof data === "number") data = data.toString();
			if (this.readyState !== WebSocket.OPEN) {
				sendAfterClose(this, data, cb);
				return;
			}
			if (mask === void 0) mask = !this._isServer;
			this._sender.pong(data || EMPTY_BUFFER, mask, cb);
		}
		/**
		* Resume the socket.
		*
		* @public
		*/
		resume() {
			if (this.readyState === WebSocket.CONNECTING || this.readyState === WebSocket.CLOSED) return;
			this._paused = false;
			if (!this._receiver._writableState.needDrain) this._socket.resume();
		}
		/**
		* Send a data message.
		*
		* @param {*} data The message to send
		* @param {Object} [options] Options object
		* @param {Boolean} [options.binary] Specifies whether `data` is binary or
		*     text
		* @param {Boolean} [options.compress] Specifies whether or not to compress
		*     `data`
		* @param {Boolean} [options.fin=true] Specifies whether the fragment is the
		*     last one
		* @param {Boolean} [options.mask] Specifies whether or not to mask `data`
		* @param {Function} [cb] Callback which is executed when data is written out
		* @public
		*/
		send(data, options, cb) {
			if (this.readyState === WebSocket.CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)");
			if (typeof options === "function") {
				cb = options;
				options = {};
			}
			if (typeof data === "number") data = data.toString();
			if (this.readyState !== WebSocket.OPEN) {
				sendAfterClose(this, data, cb);
				return;
			}
			const opts = {
				binary: typeof data !== "string",
				mask: !this._isServer,
				compress: true,
				fin: true,
				...options
			};
			if (!this._extensions[PerMessageDeflate.extensionName]) opts.compress = false;
			this._sender.send(data || EMPTY_BUFFER, opts, cb);
		}
		/**
		* Forcibly close the connection.
		*
		* @public
		*/
		terminate() {
			if (this.readyState === WebSocket.CLOSED) return;
			if (this.readyState === WebSocket.CONNECTING) {
				abortHandshake(this, this._req, "WebSocket was closed before the connection was established");
				return;
			}
			if (this._socket) {
				this._readyState = WebSocket.CLOSING;
				this._socket.destroy();
			}
		}
	};
	/**
	* @constant {Number} CONNECTING
	* @memberof WebSocket
	*/
	Object.defineProperty(WebSocket, "CONNECTING", {
		enumerable: true,
		value: readyStates.indexOf("CONNECTING")
	});
	/**
	* @constant {Number} CONNECTING
	* @memberof WebSocket.prototype
	*/
	Object.defineProperty(WebSocket.prototype, "CONNECTING", {
		enumerable: true,
		value: readyStates.indexOf("CONNECTING")
	});
	/**
	* @constant {Number} OPEN
	* @memberof WebSocket
	*/
	Object.defineProperty(WebSocket, "OPEN", {
		enumerable: true,
		value: readyStates.indexOf("OPEN")
	});
	/**
	* @constant {Number} OPEN
	* @memberof WebSocket.prototype
	*/
	Object.defineProperty(WebSocket.prototype, "OPEN", {
		enumerable: true,
		value: readyStates.indexOf("OPEN")
	});
	/**
	* @constant {Number} CLOSING
	* @memberof WebSocket
	*/
	Object.defineProperty(WebSocket, "CLOSING", {
		enumerable: true,
		value: readyStates.indexOf("CLOSING")
	});
	/**
	* @constant {Number} CLOSING
	* @memberof WebSocket.prototype
	*/
	Object.defineProperty(WebSocket.prototype, "CLOSING", {
		enumerable: true,
		value: readyStates.indexOf("CLOSING")
	});
	/**
	* @constant {Number} CLOSED
	* @memberof WebSocket
	*/
	Object.defineProperty(WebSocket, "CLOSED", {
		enumerable: true,
		value: readyStates.indexOf("CLOSED")
	});
	/**
	* @constant {Number} CLOSED
	* @memberof WebSocket.prototype
	*/
	Object.defineProperty(WebSocket.prototype, "CLOSED", {
		enumerable: true,
		value: readyStates.indexOf("CLOSED")
	});
	[
		"binaryType",
		"bufferedAmount",
		"extensions",
		"isPaused",
		"protocol",
		"readyState",
		"url"
	].forEach((property) => {
		Object.defineProperty(WebSocket.prototype, property, { enumerable: true });
	});
	[
		"open",
		"error",
		"close",
		"message"
	].forEach((method) => {
		Object.defineProperty(WebSocket.prototype, `on${method}`, {
			enumerable: true,
			get() {
				for (const listener of this.listeners(method)) if (listener[kForOnEventAttribute]) return listener[kListener];
				return null;
			},
			set(handler) {
				for (const listener of this.listeners(method)) if (listener[kForOnEventAttribute]) {
					this.removeListener(method, listener);
					break;
				}
				if (typeof handler !== "function") return;
				this.addEventListener(method, handler, { [kForOnEventAttribute]: true });
			}
		});
	});
	WebSocket.prototype.addEventListener = addEventListener;
	WebSocket.prototype.removeEventListener = removeEventListener;
	module.exports = WebSocket;
	/**
	* Initialize a WebSocket client.
	*
	* @param {WebSocket} websocket The client to initialize
	* @param {(String|URL)} address The URL to which to connect
	* @param {Array} protocols The subprotocols
	* @param {Object} [options] Connection options
	* @param {Boolean} [options.allowSynchronousEvents=true] Specifies whether any
	*     of the `'message'`, `'ping'`, and `'pong'` events can be emitted multiple
	*     times in the same tick
	* @param {Boolean} [options.autoPong=true] Specifies whether or not to
	*     automatically send a pong in response to a ping
	* @param {Function} [options.finishRequest] A function which can be used to
	*     customize the headers of each http request before it is sent
	* @param {Boolean} [options.followRedirects=false] Whether or not to follow
	*     redirects
	* @param {Function} [options.generateMask] The function used to generate the
	*     masking key
	* @param {Number} [options.handshakeTimeout] Timeout in milliseconds for the
	*     handshake request
	* @param {Number} [options.maxPayload=104857600] The maximum allowed message
	*     size
	* @param {Number} [options.maxRedirects=10] The maximum number of redirects
	*     allowed
	* @param {String} [options.origin] Value of the `Origin` or
	*     `Sec-WebSocket-Origin` header
	* @param {(Boolean|Object)} [options.perMessageDeflate=true] Enable/disable
	*     permessage-deflate
	* @param {Number} [options.protocolVersion=13] Value of the
	*     `Sec-WebSocket-Version` header
	* @param {Boolean} [options.skipUTF8Validation=false] Specifies whether or
	*     not to skip UTF-8 validation for text and close messages
	* @private
	*/
	function initAsClient(websocket, address, protocols, options) {
		const opts = {
			allowSynchronousEvents: true,
			autoPong: true,
			protocolVersion: protocolVersions[1],
			maxPayload: 0x6400000,
			skipUTF8Validation: false,
			perMessageDeflate: true,
			followRedirects: false,
			maxRedirects: 10,
			...options,
			socketPath: void 0,
			hostname: void 0,
			protocol: void 0,
			timeout: void 0,
			method: "GET",
			host: void 0,
			path: void 0,
			port: void 0
		};
		websocket._autoPong = opts.autoPong;
		if (!protocolVersions.includes(opts.protocolVersion)) throw new RangeError(`Unsupported protocol version: ${opts.protocolVersion} (supported versions: ${protocolVersions.join(", ")})`);
		let parsedUrl;
		if (address instanceof URL) parsedUrl = address;
		else try {
			parsedUrl = new URL(address);
		} catch (e) {
			throw new SyntaxError(`Invalid URL: ${address}`);
		}
		if (parsedUrl.protocol === "http:") parsedUrl.protocol = "ws:";
		else if (parsedUrl.protocol === "https:") parsedUrl.protocol = "wss:";
		websocket._url = parsedUrl.href;
		const isSecure = parsedUrl.protocol === "wss:";
		const isIpcUrl = parsedUrl.protocol === "ws+unix:";
		let invalidUrlMessage;
		if (parsedUrl.protocol !== "ws:" && !isSecure && !isIpcUrl) invalidUrlMessage = "The URL's protocol must be one of \"ws:\", \"wss:\", \"http:\", \"https:\", or \"ws+unix:\"";
		else if (isIpcUrl && !parsedUrl.pathname) invalidUrlMessage = "The URL's pathname is empty";
		else if (parsedUrl.hash) invalidUrlMessage = "The URL contains a fragment identifier";
		if (invalidUrlMessage) {
			const err = new SyntaxError(invalidUrlMessage);
			if (websocket._redirects === 0) throw err;
			else {
				emitErrorAndClose(websocket, err);
				return;
			}
		}
		const defaultPort = isSecure ? 443 : 80;
		const key = randomBytes(16).toString("base64");
		const request = isSecure ? https.request : http.request;
		const protocolSet = /* @__PURE__ */ new Set();
		let perMessageDeflate;
		opts.createConnection = opts.createConnection || (isSecure ? tlsConnect : netConnect);
		opts.defaultPort = opts.defaultPort || defaultPort;
		opts.port = parsedUrl.port || defaultPort;
		opts.host = parsedUrl.hostname.startsWith("[") ? parsedUrl.hostname.slice(1, -1) : parsedUrl.hostname;
		opts.headers = {
			...opts.headers,
			"Sec-WebSocket-Version": opts.protocolVersion,
			"Sec-WebSocket-Key": key,
			Connection: "Upgrade",
			Upgrade: "websocket"
		};
		opts.path = parsedUrl.pathname + parsedUrl.search;
		opts.timeout = opts.handshakeTimeout;
		if (opts.perMessageDeflate) {
			perMessageDeflate = new PerMessageDeflate(opts.perMessageDeflate !== true ? opts.perMessageDeflate : {}, false, opts.maxPayload);
			opts.headers["Sec-WebSocket-Extensions"] = format({ [PerMessageDeflate.extensionName]: perMessageDeflate.offer() });
		}
		if (protocols.length) {
			for (const protocol of protocols) {
				if (typeof protocol !== "string" || !subprotocolRegex.test(protocol) || protocolSet.has(protocol)) throw new SyntaxError("An invalid or duplicated subprotocol was specified");
				protocolSet.add(protocol);
			}
			opts.headers["Sec-WebSocket-Protocol"] = protocols.join(",");
		}
		if (opts.origin) {
			if (opts.protocolVersion < 13) opts.headers["Sec-WebSocket-Origin"] = opts.origin;
			else opts.headers.Origin = opts.origin;
		}
		if (parsedUrl.username || parsedUrl.password) opts.auth = `${parsedUrl.username}:${parsedUrl.password}`;
		if (isIpcUrl) {
			const parts = opts.path.split(":");
			opts.socketPath = parts[0];
			opts.path = parts[1];
		}
		let req;
		if (opts.followRedirects) {
			if (websocket._redirects === 0) {
				websocket._originalIpc = isIpcUrl;
				websocket._originalSecure = isSecure;
				websocket._originalHostOrSocketPath = isIpcUrl ? opts.socketPath : parsedUrl.host;
				const headers = options && options.headers;
				options = {
					...options,
					headers: {}
				};
				if (headers) for (const [key, value] of Object.entries(headers)) options.headers[key.toLowerCase()] = value;
			} else if (websocket.listenerCount("redirect") === 0) {
				const isSameHost = isIpcUrl ? websocket._originalIpc ? opts.socketPath === websocket._originalHostOrSocketPath : false : websocket._originalIpc ? false : parsedUrl.host === websocket._originalHostOrSocketPath;
				if (!isSameHost || websocket._originalSecure && !isSecure) {
					delete opts.headers.authorization;
					delete opts.headers.cookie;
					if (!isSameHost) delete opts.headers.host;
					opts.auth = void 0;
				}
			}
			if (opts.auth && !options.headers.authorization) options.headers.authorization = "Basic " + Buffer.from(opts.auth).toString("base64");
			req = websocket._req = request(opts);
			if (websocket._redirects) websocket.emit("redirect", websocket.url, req);
		} else req = websocket._req = request(opts);
		if (opts.timeout) req.on("timeout", () => {
			abortHandshake(websocket, req, "Opening handshake has timed out");
		});
		req.on("error", (err) => {
			if (req === null || req[kAborted]) return;
			req = websocket._req = null;
			emitErrorAndClose(websocket, err);
		});
		req.on("response", (res) => {
			const location = res.headers.location;
			const statusCode = res.statusCode;
			if (location && opts.followRedirects && statusCode >= 300 && statusCode < 400) {
				if (++websocket._redirects > opts.maxRedirects) {
					abortHandshake(websocket, req, "Maximum redirects exceeded");
					return;
				}
				req.abort();
				let addr;
				try {
					addr = new URL(location, address);
				} catch (e) {
					emitErrorAndClose(websocket, /* @__PURE__ */ new SyntaxError(`Invalid URL: ${location}`));
					return;
				}
				initAsClient(websocket, addr, protocols, options);
			} else if (!websocket.emit("unexpected-response", req, res)) abortHandshake(websocket, req, `Unexpected server response: ${res.statusCode}`);
		});
		req.on("upgrade", (res, socket, head) => {
			websocket.emit("upgrade", res);
			if (websocket.readyState !== WebSocket.CONNECTING) return;
			req = websocket._req = null;
			const upgrade = res.headers.upgrade;
			if (upgrade === void 0 || upgrade.toLowerCase() !== "websocket") {
				abortHandshake(websocket, socket, "Invalid Upgrade header");
				return;
			}
			const digest = createHash("sha1").update(key + GUID).digest("base64");
			if (res.headers["sec-websocket-accept"] !== digest) {
				abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Accept header");
				return;
			}
			const serverProt = res.headers["sec-websocket-protocol"];
			let protError;
			if (serverProt !== void 0) {
				if (!protocolSet.size) protError = "Server sent a subprotocol but none was requested";
				else if (!protocolSet.has(serverProt)) protError = "Server sent an invalid subprotocol";
			} else if (protocolSet.size) protError = "Server sent no subprotocol";
			if (protError) {
				abortHandshake(websocket, socket, protError);
				return;
			}
			if (serverProt) websocket._protocol = serverProt;
			const secWebSocketExtensions = res.headers["sec-websocket-extensions"];
			if (secWebSocketExtensions !== void 0) {
				if (!perMessageDeflate) {
					abortHandshake(websocket, socket, "Server sent a Sec-WebSocket-Extensions header but no extension was requested");
					return;
				}
				let extensions;
				try {
					extensions = parse(secWebSocketExtensions);
				} catch (err) {
					abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Extensions header");
					return;
				}
				const extensionNames = Object.keys(extensions);
				if (extensionNames.length !== 1 || extensionNames[0] !== PerMessageDeflate.extensionName) {
					abortHandshake(websocket, socket, "Server indicated an extension that was not requested");
					return;
				}
				try {
					perMessageDeflate.accept(extensions[PerMessageDeflate.extensionName]);
				} catch (err) {
					abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Extensions header");
					return;
				}
				websocket._extensions[PerMessageDeflate.extensionName] = perMessageDeflate;
			}
			websocket.setSocket(socket, head, {
				allowSynchronousEvents: opts.allowSynchronousEvents,
				generateMask: opts.generateMask,
				maxPayload: opts.maxPayload,
				skipUTF8Validation: opts.skipUTF8Validation
			});
		});
		if (opts.finishRequest) opts.finishRequest(req, websocket);
		else req.end();
	}
	/**
	* Emit the `'error'` and `'close'` events.
	*
	* @param {WebSocket} websocket The WebSocket instance
	* @param {Error} The error to emit
	* @private
	*/
	function emitErrorAndClose(websocket, err) {
		websocket._readyState = WebSocket.CLOSING;
		websocket._errorEmitted = true;
		websocket.emit("error", err);
		websocket.emitClose();
	}
	/**
	* Create a `net.Socket` and initiate a connection.
	*
	* @param {Object} options Connection options
	* @return {net.Socket} The newly created socket used to start the connection
	* @private
	*/
	function netConnect(options) {
		options.path = options.socketPath;
		return net.connect(options);
	}
	/**
	* Create a `tls.TLSSocket` and initiate a connection.
	*
	* @param {Object} options Connection options
	* @return {tls.TLSSocket} The newly created socket used to start the connection
	* @private
	*/
	function tlsConnect(options) {
		options.path = void 0;
		if (!options.servername && options.servername !== "") options.servername = net.isIP(options.host) ? "" : options.host;
		return tls.connect(options);
	}
	/**
	* Abort the handshake and emit an error.
	*
	* @param {WebSocket} websocket The WebSocket instance
	* @param {(http.ClientRequest|net.Socket|tls.Socket)} stream The request to
	*     abort or the socket to destroy
	* @param {String} message The error message
	* @private
	*/
	function abortHandshake(websocket, stream, message) {
		websocket._readyState = WebSocket.CLOSING;
		const err = new Error(message);
		Error.captureStackTrace(err, abortHandshake);
		if (stream.setHeader) {
			stream[kAborted] = true;
			stream.abort();
			if (stream.socket && !stream.socket.destroyed) stream.socket.destroy();
			process.nextTick(emitErrorAndClose, websocket, err);
		} else {
			stream.destroy(err);
			stream.once("error", websocket.emit.bind(websocket, "error"));
			stream.once("close", websocket.emitClose.bind(websocket));
		}
	}
	/**
	* Handle cases where the `ping()`, `pong()`, or `send()` methods are called
	* when the `readyState` attribute is `CLOSING` or `CLOSED`.
	*
	* @param {WebSocket} websocket The WebSocket instance
	* @param {*} [data] The data to send
	* @param {Function} [cb] Callback
	* @private
	*/
	function sendAfterClose(websocket, data, cb) {
		if (data) {
			const length = isBlob(data) ? data.size : toBuffer(data).length;
			if (websocket._socket) websocket._sender._bufferedBytes += length;
			else websocket._bufferedAmount += length;
		}
		if (cb) {
			const err = /* @__PURE__ */ new Error(`WebSocket is not open: readyState ${websocket.readyState} (${readyStates[websocket.readyState]})`);
			process.nextTick(cb, err);
		}
	}
	/**
	* The listener of the `Receiver` `'conclude'` event.
	*
	* @param {Number} code The status code
	* @param {Buffer} reason The reason for closing
	* @private
	*/
	function receiverOnConclude(code, reason) {
		const websocket = this[kWebSocket];
		websocket._closeFrameReceived = true;
		websocket._closeMessage = reason;
		websocket._closeCode = code;
		if (websocket._socket[kWebSocket] === void 0) return;
		websocket._socket.removeListener("data", socketOnData);
		process.nextTick(resume, websocket._socket);
		if (code === 1005) websocket.close();
		else websocket.close(code, reason);
	}
	/**
	* The listener of the `Receiver` `'drain'` event.
	*
	* @private
	*/
	function receiverOnDrain() {
		const websocket = this[kWebSocket];
		if (!websocket.isPaused) websocket._socket.resume();
	}
	/**
	* The listener of the `Receiver` `'error'` event.
	*
	* @param {(RangeError|Error)} err The emitted error
	* @private
	*/
	function receiverOnError(err) {
		const websocket = this[kWebSocket];
		if (websocket._socket[kWebSocket] !== void 0) {
			websocket._socket.removeListener("data", socketOnData);
			process.nextTick(resume, websocket._socket);
			websocket.close(err[kStatusCode]);
		}
		if (!websocket._errorEmitted) {
			websocket._errorEmitted = true;
			websocket.emit("error", err);
		}
	}
	/**
	* The listener of the `Receiver` `'finish'` event.
	*
	* @private
	*/
	function receiverOnFinish() {
		this[kWebSocket].emitClose();
	}
	/**
	* The listener of the `Receiver` `'message'` event.
	*
	* @param {Buffer|ArrayBuffer|Buffer[])} data The message
	* @param {Boolean} isBinary Specifies whether the message is binary or not
	* @private
	*/
	function receiverOnMessage(data, isBinary) {
		this[kWebSocket].emit("message", data, isBinary);
	}
	/**
	* The listener of the `Receiver` `'ping'` event.
	*
	* @param {Buffer} data The data included in the ping frame
	* @private
	*/
	function receiverOnPing(data) {
		const websocket = this[kWebSocket];
		if (websocket._autoPong) websocket.pong(data, !this._isServer, NOOP);
		websocket.emit("ping", data);
	}
	/**
	* The listener of the `Receiver` `'pong'` event.
	*
	* @param {Buffer} data The data included in the pong frame
	* @private
	*/
	function receiverOnPong(data) {
		this[kWebSocket].emit("pong", data);
	}
	/**
	* Resume a readable stream
	*
	* @param {Readable} stream The readable stream
	* @private
	*/
	function resume(stream) {
		stream.resume();
	}
	/**
	* The `Sender` error event handler.
	*
	* @param {Error} The error
	* @private
	*/
	function senderOnError(err) {
		const websocket = this[kWebSocket];
		if (websocket.readyState === WebSocket.CLOSED) return;
		if (websocket.readyState === WebSocket.OPEN) {
			websocket._readyState = WebSocket.CLOSING;
			setCloseTimer(websocket);
		}
		this._socket.end();
		if (!websocket._errorEmitted) {
			websocket._errorEmitted = true;
			websocket.emit("error", err);
		}
	}
	/**
	* Set a timer to destroy the underlying raw socket of a WebSocket.
	*
	* @param {WebSocket} websocket The WebSocket instance
	* @private
	*/
	function setCloseTimer(websocket) {
		websocket._closeTimer = setTimeout(websocket._socket.destroy.bind(websocket._socket), closeTimeout);
	}
	/**
	* The listener of the socket `'close'` event.
	*
	* @private
	*/
	function socketOnClose() {
		const websocket = this[kWebSocket];
		this.removeListener("close", socketOnClose);
		this.removeListener("data", socketOnData);
		this.removeListener("end", socketOnEnd);
		websocket._readyState = WebSocket.CLOSING;
		let chunk;
		if (!this._readableState.endEmitted && !websocket._closeFrameReceived && !websocket._receiver._writableState.errorEmitted && (chunk = websocket._socket.read()) !== null) websocket._receiver.write(chunk);
		websocket._receiver.end();
		this[kWebSocket] = void 0;
		clearTimeout(websocket._closeTimer);
		if (websocket._receiver._writableState.finished || websocket._receiver._writableState.errorEmitted) websocket.emitClose();
		else {
			websocket._receiver.on("error", receiverOnFinish);
			websocket._receiver.on("finish", receiverOnFinish);
		}
	}
	/**
	* The listener of the socket `'data'` event.
	*
	* @param {Buffer} chunk A chunk of data
	* @private
	*/
	function socketOnData(chunk) {
		if (!this[kWebSocket]._receiver.write(chunk)) this.pause();
	}
	/**
	* The listener of the socket `'end'` event.
	*
	* @private
	*/
	function socketOnEnd() {
		const websocket = this[kWebSocket];
		websocket._readyState = WebSocket.CLOSING;
		websocket._receiver.end();
		this.end();
	}
	/**
	* The listener of the socket `'error'` event.
	*
	* @private
	*/
	function socketOnError() {
		const websocket = this[kWebSocket];
		this.removeListener("error", socketOnError);
		this.on("error", NOOP);
		if (websocket) {
			websocket._readyState = WebSocket.CLOSING;
			this.destroy();
		}
	}
}));
// node_modules/ws/lib/stream.js
var require_stream = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	require_websocket();
	var { Duplex } = __require("stream");
	/**
	* Emits the `'close'` event on a stream.
	*
	* @param {Duplex} stream The stream.
	* @private
	*/
	function emitClose(stream) {
		stream.emit("close");
	}
	/**
	* The listener of the `'end'` event.
	*
	* @private
	*/
	function duplexOnEnd() {
		if (!this.destroyed && this._writableState.finished) this.destroy();
	}
	/**
	* The listener of the `'error'` event.
	*
	* @param {Error} err The error
	* @private
	*/
	function duplexOnError(err) {
		this.removeListener("error", duplexOnError);
		this.destroy();
		if (this.listenerCount("error") === 0) this.emit("error", err);
	}
	/**
	* Wraps a `WebSocket` in a duplex stream.
	*
	* @param {WebSocket} ws The `WebSocket` to wrap
	* @param {Object} [options] The options for the `Duplex` constructor
	* @return {Duplex} The duplex stream
	* @public
	*/
	function createWebSocketStream(ws, options) {
		let terminateOnDestroy = true;
		const duplex = new Duplex({
			...options,
			autoDestroy: false,
			emitClose: false,
			objectMode: false,
			writableObjectMode: false
		});
		ws.on("message", function message(msg, isBinary) {
			const data = !isBinary && duplex._readableState.objectMode ? msg.toString() : msg;
			if (!duplex.push(data)) ws.pause();
		});
		ws.once("error", function error(err) {
			if (duplex.destroyed) return;
			terminateOnDestroy = false;
			duplex.destroy(err);
		});
		ws.once("close", function close() {
			if (duplex.destroyed) return;
			duplex.push(null);
		});
		duplex._destroy = function(err, callback) {
			if (ws.readyState === ws.CLOSED) {
				callback(err);
				process.nextTick(emitClose, duplex);
				return;
			}
			let called = false;
			ws.once("error", function error(err) {
				called = true;
				callback(err);
			});
			ws.once("close", function close() {
				if (!called) callback(err);
				process.nextTick(emitClose, duplex);
			});
			if (terminateOnDestroy) ws.terminate();
		};
		duplex._final = function(callback) {
			if (ws.readyState === ws.CONNECTING) {
				ws.once("open", function open() {
					duplex._final(callback);
				});
				return;
			}
			if (ws._socket === null) return;
			if (ws._socket._writableState.finished) {
				callback();
				if (duplex._readableState.endEmitted) duplex.destroy();
			} else {
				ws._socket.once("finish", function finish() {
					callback();
				});
				ws.close();
			}
		};
		duplex._read = function() {
			if (ws.isPaused) ws.resume();
		};
		duplex._write = function(chunk, encoding, callback) {
			if (ws.readyState === ws.CONNECTING) {
				ws.once("open", function open() {
					duplex._write(chunk, encoding, callback);
				});
				return;
			}
			ws.send(chunk, callback);
		};
		duplex.on("end", duplexOnEnd);
		duplex.on("error", duplexOnError);
		return duplex;
	}
	module.exports = createWebSocketStream;
}));
// node_modules/ws/lib/subprotocol.js
var require_subprotocol = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var { tokenChars } = require_validation();
	/**
	* Parses the `Sec-WebSocket-Protocol` header into a set of subprotocol names.
	*
	* @param {String} header The field value of the header
	* @return {Set} The subprotocol names
	* @public
	*/
	function parse(header) {
		const protocols = /* @__PURE__ */ new Set();
		let start = -1;
		let end = -1;
		let i = 0;
		for (; i < header.length; i++) {
			const code = header.charCodeAt(i);
			if (end === -1 && tokenChars[code] === 1) {
				if (start === -1) start = i;
			} else if (i !== 0 && (code === 32 || code === 9)) {
				if (end === -1 && start !== -1) end = i;
			} else if (code === 44) {
				if (start === -1) throw new SyntaxError(`Unexpected character at index ${i}`);
				if (end === -1) end = i;
				const protocol = header.slice(start, end);
				if (protocols.has(protocol)) throw new SyntaxError(`The "${protocol}" subprotocol is duplicated`);
				protocols.add(protocol);
				start = end = -1;
			} else throw new SyntaxError(`Unexpected character at index ${i}`);
		}
		if (start === -1 || end !== -1) throw new SyntaxError("Unexpected end of input");
		const protocol = header.slice(start, i);
		if (protocols.has(protocol)) throw new SyntaxError(`The "${protocol}" subprotocol is duplicated`);
		protocols.add(protocol);
		return protocols;
	}
	module.exports = { parse };
}));
// node_modules/ws/lib/websocket-server.js
var require_websocket_server = /* @__PURE__ */ __commonJSMin(((exports, module) => {
	var EventEmitter = __require("events");
	var http = __require("http");
	var { Duplex } = __require("stream");
	var { createHash } = __require("crypto");
	var extension = require_extension();
	var PerMessageDeflate = require_permessage_deflate();
	var subprotocol = require_subprotocol();
	var WebSocket = require_websocket();
	var { GUID, kWebSocket } = require_constants();
	var keyRegex = /^[+/0-9A-Za-z]{22}==$/;
	var RUNNING = 0;
	var CLOSING = 1;
	var CLOSED = 2;
	/**
	* Class representing a WebSocket server.
	*
	* @extends EventEmitter
	*/
	var WebSocketServer = class extends EventEmitter {
		/**
		* Create a `WebSocketServer` instance.
		*
		* @param {Object} options Configuration options
		* @param {Boolean} [options.allowSynchronousEvents=true] Specifies whether
		*     any of the `'message'`, `'ping'`, and `'pong'` events can be emitted
		*     multiple times in the same tick
		* @param {Boolean} [options.autoPong=true] Specifies whether or not to
		*     automatically send a pong in response to a ping
		* @param {Number} [options.backlog=511] The maximum length of the queue of
		*     pending connections
		* @param {Boolean} [options.clientTracking=true] Specifies whether or not to
		*     track clients
		* @param {Function} [options.handleProtocols] A hook to handle protocols
		* @param {String} [options.host] The hostname where to bind the server
		* @param {Number} [options.maxPayload=104857600] The maximum allowed message
		*     size
		* @param {Boolean} [options.noServer=false] Enable no server mode
		* @param {String} [options.path] Accept only connections matching this path
		* @param {(Boolean|Object)} [options.perMessageDeflate=false] Enable/disable
		*     permessage-deflate
		* @param {Number} [options.port] The port where to bind the server
		* @param {(http.Server|https.Server)} [options.server] A pre-created HTTP/S
		*     server to use
		* @param {Boolean} [options.skipUTF8Validation=false] Specifies whether or
		*     not to skip UTF-8 validation for text and close messages
		* @param {Function} [options.verifyClient] A hook to reject connections
		* @param {Function} [options.WebSocket=WebSocket] Specifies the `WebSocket`
		*     class to use. It must be the `WebSocket` class or class that extends it
		* @param {Function} [callback] A listener for the `listening` event
		*/
		constructor(options, callback) {
			super();
			options = {
				allowSynchronousEvents: true,
				autoPong: true,
				maxPayload: 0x6400000,
				skipUTF8Validation: false,
				perMessageDeflate: false,
				handleProtocols: null,
				clientTracking: true,
				verifyClient: null,
				noServer: false,
				backlog: null,
				server: null,
				host: null,
				path: null,
				port: null,
				WebSocket,
				...options
			};
			if (options.port == null && !options.server && !options.noServer || options.port != null && (options.server || options.noServer) || options.server && options.noServer) throw new TypeError("One and only one of the \"port\", \"server\", or \"noServer\" options must be specified");
			if (options.port != null) {
				this._server = http.createServer((req, res) => {
					const body = http.STATUS_CODES[426];
					res.writeHead(426, {
						"Content-Length": body.length,
						"Content-Type": "text/plain"
					});
					res.end(body);
				});
				this._server.listen(options.port, options.host, options.backlog, callback);
			} else if (options.server) this._server = options.server;
			if (this._server) {
				const emitConnection = this.emit.bind(this, "connection");
				this._removeListeners = addListeners(this._server, {
					listening: this.emit.bind(this, "listening"),
					error: this.emit.bind(this, "error"),
					upgrade: (req, socket, head) => {
						this.handleUpgrade(req, socket, head, emitConnection);
					}
				});
			}
			if (options.perMessageDeflate === true) options.perMessageDeflate = {};
			if (options.clientTracking) {
				this.clients = /* @__PURE__ */ new Set();
				this._shouldEmitClose = false;
			}
			this.options = options;
			this._state = RUNNING;
		}
		/**
		* Returns the bound address, the address family name, and port of the server
		* as reported by the operating system if listening on an IP socket.
		* If the server is listening on a pipe or UNIX domain socket, the name is
		* returned as a string.
		*
		* @return {(Object|String|null)} The address of the server
		* @public
		*/
		address() {
			if (this.options.noServer) throw new Error("The server is operating in \"noServer\" mode");
			if (!this._server) return null;
			return this._server.address();
		}
		/**
		* Stop the server from accepting new connections and emit the `'close'` event
		* when all existing connections are closed.
		*
		* @param {Function} [cb] A one-time listener for the `'close'` event
		* @public
		*/
		close(cb) {
			if (this._state === CLOSED) {
				if (cb) this.once("close", () => {
					cb(/* @__PURE__ */ new Error("The server is not running"));
				});
				process.nextTick(emitClose, this);
				return;
			}
			if (cb) this.once("close", cb);
			if (this._state === CLOSING) return;
			this._state = CLOSING;
			if (this.options.noServer || this.options.server) {
				if (this._server) {
					this._removeListeners();
					this._removeListeners = this._server = null;
				}
				if (this.clients) {
					if (!this.clients.size) process.nextTick(emitClose, this);
					else this._shouldEmitClose = true;
				} else process.nextTick(emitClose, this);
			} else {
				const server = this._server;
				this._removeListeners();
				this._removeListeners = this._server = null;
				server.close(() => {
					emitClose(this);
				});
			}
		}
		/**
		* See if a given request should be handled by this server instance.
		*
		* @param {http.IncomingMessage} req Request object to inspect
		* @return {Boolean} `true` if the request is valid, else `false`
		* @public
		*/
		shouldHandle(req) {
			if (this.options.path) {
				const index = req.url.indexOf("?");
				if ((index !== -1 ? req.url.slice(0, index) : req.url) !== this.options.path) return false;
			}
			return true;
		}
		/**
		* Handle a HTTP Upgrade request.
		*
		* @param {http.IncomingMessage} req The request object
		* @param {Duplex} socket The network socket between the server and client
		* @param {Buffer} head The first packet of the upgraded stream
		* @param {Function} cb Callback
		* @public
		*/
		handleUpgrade(req, socket, head, cb) {
			socket.on("error", socketOnError);
			const key = req.headers["sec-websocket-key"];
			const upgrade = req.headers.upgrade;
			const version = +req.headers["sec-websocket-version"];
			if (req.method !== "GET") {
				abortHandshakeOrEmitwsClientError(this, req, socket, 405, "Invalid HTTP method");
				return;
			}
			if (upgrade === void 0 || upgrade.toLowerCase() !== "websocket") {
				abortHandshakeOrEmitwsClientError(this, req, socket, 400, "Invalid Upgrade header");
				return;
			}
			if (key === void 0 || !keyRegex.test(key)) {
				abortHandshakeOrEmitwsClientError(this, req, socket, 400, "Missing or invalid Sec-WebSocket-Key header");
				return;
			}
			if (version !== 13 && version !== 8) {
				abortHandshakeOrEmitwsClientError(this, req, socket, 400, "Missing or invalid Sec-WebSocket-Version header", { "Sec-WebSocket-Version": "13, 8" });
				return;
			}
			if (!this.shouldHandle(req)) {
				abortHandshake(socket, 400);
				return;
			}
			const secWebSocketProtocol = req.headers["sec-websocket-protocol"];
			let protocols = /* @__PURE__ */ new Set();
			if (secWebSocketProtocol !== void 0) try {
				protocols = subprotocol.parse(secWebSocketProtocol);
			} catch (err) {
				abortHandshakeOrEmitwsClientError(this, req, socket, 400, "Invalid Sec-WebSocket-Protocol header");
				return;
			}
			const secWebSocketExtensions = req.headers["sec-websocket-extensions"];
			const extensions = {};
			if (this.options.perMessageDeflate && secWebSocketExtensions !== void 0) {
				const perMessageDeflate = new PerMessageDeflate(this.options.perMessageDeflate, true, this.options.maxPayload);
				try {
					const offers = extension.parse(secWebSocketExtensions);
					if (offers[PerMessageDeflate.extensionName]) {
						perMessageDeflate.accept(offers[PerMessageDeflate.extensionName]);
						extensions[PerMessageDeflate.extensionName] = perMessageDeflate;
					}
				} catch (err) {
					abortHandshakeOrEmitwsClientError(this, req, socket, 400, "Invalid or unacceptable Sec-WebSocket-Extensions header");
					return;
				}
			}
			if (this.options.verifyClient) {
				const info = {
					origin: req.headers[`${version === 8 ? "sec-websocket-origin" : "origin"}`],
					secure: !!(req.socket.authorized || req.socket.encrypted),
					req
				};
				if (this.options.verifyClient.length === 2) {
					this.options.verifyClient(info, (verified, code, message, headers) => {
						if (!verified) return abortHandshake(socket, code || 401, message, headers);
						this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
					});
					return;
				}
				if (!this.options.verifyClient(info)) return abortHandshake(socket, 401);
			}
			this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
		}
		/**
		* Upgrade the connection to WebSocket.
		*
		* @param {Object} extensions The accepted extensions
		* @param {String} key The value of the `Sec-WebSocket-Key` header
		* @param {Set} protocols The subprotocols
		* @param {http.IncomingMessage} req The request object
		* @param {Duplex} socket The network socket between the server and client
		* @param {Buffer} head The first packet of the upgraded stream
		* @param {Function} cb Callback
		* @throws {Error} If called more than once with the same socket
		* @private
		*/
		completeUpgrade(extensions, key, protocols, req, socket, head, cb) {
			if (!socket.readable || !socket.writable) return socket.destroy();
			if (socket[kWebSocket]) throw new Error("server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration");
			if (this._state > RUNNING) return abortHandshake(socket, 503);
			const headers = [
				"HTTP/1.1 101 Switching Protocols",
				"Upgrade: websocket",
				"Connection: Upgrade",
				`Sec-WebSocket-Accept: ${createHash("sha1").update(key + GUID).digest("base64")}`
			];
			const ws = new this.options.WebSocket(null, void 0, this.options);
			if (protocols.size) {
				const protocol = this.options.handleProtocols ? this.options.handleProtocols(protocols, req) : protocols.values().next().value;
				if (protocol) {
					headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
					ws._protocol = protocol;
				}
			}
			if (extensions[PerMessageDeflate.extensionName]) {
				const params = extensions[PerMessageDeflate.extensionName].params;
				const value = extension.format({ [PerMessageDeflate.extensionName]: [params] });
				headers.push(`Sec-WebSocket-Extensions: ${value}`);
				ws._extensions = extensions;
			}
			this.emit("headers", headers, req);
			socket.write(headers.concat("\r\n").join("\r\n"));
			socket.removeListener("error", socketOnError);
			ws.setSocket(socket, head, {
				allowSynchronousEvents: this.options.allowSynchronousEvents,
				maxPayload: this.options.maxPayload,
				skipUTF8Validation: this.options.skipUTF8Validation
			});
			if (this.clients) {
				this.clients.add(ws);
				ws.on("close", () => {
					this.clients.delete(ws);
					if (this._shouldEmitClose && !this.clients.size) process.nextTick(emitClose, this);
				});
			}
			cb(ws, req);
		}
	};
	module.exports = WebSocketServer;
	/**
	* Add event listeners on an `EventEmitter` using a map of <event, listener>
	* pairs.
	*
	* @param {EventEmitter} server The event emitter
	* @param {Object.<String, Function>} map The listeners to add
	* @return {Function} A function that will remove the added listeners when
	*     called
	* @private
	*/
	function addListeners(server, map) {
		for (const event of Object.keys(map)) server.on(event, map[event]);
		return function removeListeners() {
			for (const event of Object.keys(map)) server.removeListener(event, map[event]);
		};
	}
	/**
	* Emit a `'close'` event on an `EventEmitter`.
	*
	* @param {EventEmitter} server The event emitter
	* @private
	*/
	function emitClose(server) {
		server._state = CLOSED;
		server.emit("close");
	}
	/**
	* Handle socket errors.
	*
	* @private
	*/
	function socketOnError() {
		this.destroy();
	}
	/**
	* Close the connection when preconditions are not fulfilled.
	*
	* @param {Duplex} socket The socket of the upgrade request
	* @param {Number} code The HTTP response status code
	* @param {String} [message] The HTTP response body
	* @param {Object} [headers] Additional HTTP response headers
	* @private
	*/
	function abortHandshake(socket, code, message, headers) {
		message = message || http.STATUS_CODES[code];
		headers = {
			Connection: "close",
			"Content-Type": "text/html",
			"Content-Length": Buffer.byteLength(message),
			...headers
		};
		socket.once("finish", socket.destroy);
		socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n` + Object.keys(headers).map((h) => `${h}: ${headers[h]}`).join("\r\n") + "\r\n\r\n" + message);
	}
	/**
	* Emit a `'wsClientError'` event on a `WebSocketServer` if there is at least
	* one listener for it, otherwise call `abortHandshake()`.
	*
	* @param {WebSocketServer} server The WebSocket server
	* @param {http.IncomingMessage} req The request object
	* @param {Duplex} socket The socket of the upgrade request
	* @param {Number} code The HTTP response status code
	* @param {String} message The HTTP response body
	* @param {Object} [headers] The HTTP response headers
	* @private
	*/
	function abortHandshakeOrEmitwsClientError(server, req, socket, code, message, headers) {
		if (server.listenerCount("wsClientError")) {
			const err = new Error(message);
			Error.captureStackTrace(err, abortHandshakeOrEmitwsClientError);
			server.emit("wsClientError", err, socket, req);
		} else abortHandshake(socket, code, message, headers);
	}
}));
require_stream();
require_receiver();
require_sender();
var import_websocket = /* @__PURE__ */ __toESM(require_websocket(), 1);
require_websocket_server();
// node/websocket-global.mjs
globalThis.WebSocket ??= import_websocket.default;
// node_modules/@medplum/core/dist/esm/index.mjs
var ta = Object.defineProperty;
var na = (t, e, n) => e in t ? ta(t, e, {
	enumerable: !0,
	configurable: !0,
	writable: !0,
	value: n
}) : t[e] = n;
var c = (t, e, n) => na(t, typeof e != "symbol" ? e + "" : e, n);
var te = class {
	constructor(e = 10) {
		c(this, "max");
		c(this, "cache");
		this.max = e, this.cache = /* @__PURE__ */ new Map();
	}
	clear() {
		this.cache.clear();
	}
	get(e) {
		let n = this.cache.get(e);
		return n && (this.cache.delete(e), this.cache.set(e, n)), n;
	}
	set(e, n) {
		this.cache.has(e) ? this.cache.delete(e) : this.cache.size >= this.max && this.cache.delete(this.first()), this.cache.set(e, n);
	}
	delete(e) {
		this.cache.delete(e);
	}
	keys() {
		return this.cache.keys();
	}
	first() {
		return this.cache.keys().next().value;
	}
};
var _t = class {
	constructor(e, n) {
		c(this, "operator");
		c(this, "child");
		this.operator = e, this.child = n;
	}
	toString() {
		return `${this.operator}(${this.child.toString()})`;
	}
};
var I = class {
	constructor(e, n, r) {
		c(this, "operator");
		c(this, "left");
		c(this, "right");
		this.operator = e, this.left = n, this.right = r;
	}
	toString() {
		return `(${this.left.toString()} ${this.operator} ${this.right.toString()})`;
	}
};
var Nt = class {
	constructor() {
		c(this, "prefixParselets", {});
		c(this, "infixParselets", {});
	}
	registerInfix(e, n) {
		return this.infixParselets[e] = n, this;
	}
	registerPrefix(e, n) {
		return this.prefixParselets[e] = n, this;
	}
	prefix(e, n, r) {
		return this.registerPrefix(e, { parse(i, o) {
			return r(o, i.consumeAndParse(n));
		} });
	}
	infixLeft(e, n, r) {
		return this.registerInfix(e, {
			parse(i, o, s) {
				return r(o, s, i.consumeAndParse(n));
			},
			precedence: n
		});
	}
	construct(e) {
		return new qn(e, this.prefixParselets, this.infixParselets);
	}
};
var qn = class {
	constructor(e, n, r) {
		c(this, "tokens");
		c(this, "prefixParselets");
		c(this, "infixParselets");
		this.tokens = e, this.prefixParselets = n, this.infixParselets = r;
	}
	hasMore() {
		return this.tokens.length > 0;
	}
	match(e) {
		return this.peek()?.id !== e ? !1 : (this.consume(), !0);
	}
	consumeAndParse(e = 1 / 0) {
		let n = this.consume(), r = this.prefixParselets[n.id];
		if (!r) throw new Error(`Parse error at "${n.value}" (line ${n.line}, column ${n.column}). No matching prefix parselet.`);
		let i = r.parse(this, n);
		for (; e > this.getPrecedence();) {
			let o = this.consume();
			i = this.getInfixParselet(o).parse(this, i, o);
		}
		return i;
	}
	getPrecedence() {
		let e = this.peek();
		if (!e) return 1 / 0;
		let n = this.getInfixParselet(e);
		return n ? n.precedence : 1 / 0;
	}
	consume(e, n) {
		if (!this.tokens.length) throw new Error("Cant consume unknown more tokens.");
		if (e && this.peek()?.id !== e) {
			let r = this.peek();
			throw new Error(`Expected ${e} but got "${r.id}" (${r.value}) at line ${r.line} column ${r.column}.`);
		}
		if (n && this.peek()?.value !== n) {
			let r = this.peek();
			throw new Error(`Expected "${n}" but got "${r.value}" at line ${r.line} column ${r.column}.`);
		}
		return this.tokens.shift();
	}
	peek() {
		return this.tokens.length > 0 ? this.tokens[0] : void 0;
	}
	removeComments() {
		this.tokens = this.tokens.filter((e) => e.id !== "Comment");
	}
	getInfixParselet(e) {
		return this.infixParselets[e.id === "Symbol" ? e.value : e.id];
	}
};
function ne(t) {
	if (t !== void 0) return Array.isArray(t) ? t : [t];
}
var Lt = "http://hl7.org";
var Wn = "http://terminology.hl7.org";
`${Wn}`;
var Ft = "ok";
var Ut = "created";
var Hn = "not-modified";
var Qn = "not-found";
var Jn = "unauthorized";
var Bt = "accepted";
var Mi = {
	resourceType: "OperationOutcome",
	id: Qn,
	issue: [{
		severity: "error",
		code: "not-found",
		details: { text: "Not found" }
	}]
};
var Je = {
	resourceType: "OperationOutcome",
	id: Jn,
	issue: [{
		severity: "error",
		code: "login",
		details: { text: "Unauthorized" }
	}]
};
var Di = {
	...Je,
	issue: [...Je.issue, {
		severity: "error",
		code: "expired",
		details: { text: "Token expired" }
	}]
};
var Kn = {
	...Je,
	issue: [...Je.issue, {
		severity: "error",
		code: "invalid",
		details: { text: "Token not issued for this audience" }
	}]
};
function A(t, e) {
	return {
		resourceType: "OperationOutcome",
		issue: [{
			severity: "error",
			code: "invalid",
			details: { text: t },
			...e ? { expression: ne(e) } : void 0
		}]
	};
}
function S(t, e, n, r) {
	return {
		resourceType: "OperationOutcome",
		issue: [{
			severity: "error",
			code: n ?? "structure",
			details: { text: t },
			...e ? { expression: e } : void 0,
			...r ? { diagnostics: r } : void 0
		}]
	};
}
function Yn(t) {
	return !t || typeof t != "object" ? !1 : t instanceof Error || typeof DOMException < "u" && t instanceof DOMException ? !0 : Object.prototype.toString.call(t) === "[object Error]";
}
function lt(t) {
	return typeof t == "object" && t !== null && t.resourceType === "OperationOutcome";
}
function Xn(t) {
	return t.id === Ft || t.id === Ut || t.id === Hn || t.id === Bt;
}
var m = class extends Error {
	constructor(n, r) {
		super(Vi(n), r);
		c(this, "outcome");
		this.name = "OperationOutcomeError", this.outcome = n;
	}
};
function qt(t) {
	return t instanceof m ? t.outcome : lt(t) ? t : A(_e(t));
}
function _e(t) {
	return t ? typeof t == "string" ? t : Yn(t) ? t.message : lt(t) ? Vi(t) : typeof t == "object" && "code" in t && typeof t.code == "string" ? t.code : JSON.stringify(t) : "Unknown error";
}
function Vi(t) {
	let e = t.issue?.map(ia) ?? [];
	return e.length > 0 ? e.join("; ") : "Unknown error";
}
function ia(t) {
	let e;
	return t.details?.text ? t.diagnostics ? e = `${t.details.text} (${t.diagnostics})` : e = t.details.text : t.diagnostics ? e = t.diagnostics : e = "Unknown error", t.expression?.length && (e += ` (${t.expression.join(", ")})`), e;
}
function sa(t, e) {
	let n = e.max && e.max === Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : e.max;
	return {
		path: t,
		description: "",
		type: e.type ?? [],
		min: e.min ?? 0,
		max: n ?? 1,
		isArray: !!n && n > 1,
		constraints: []
	};
}
function Li(t) {
	let e = Object.create(null);
	for (let [n, r] of Object.entries(t)) e[n] = {
		name: n,
		type: n,
		path: n,
		elements: Object.fromEntries(Object.entries(r.elements).map(([i, o]) => [i, sa(i, o)])),
		constraints: [],
		innerTypes: []
	};
	return e;
}
var Fi = {
	Element: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		}
	} },
	BackboneElement: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		}
	} },
	Address: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		use: { type: [{ code: "code" }] },
		type: { type: [{ code: "code" }] },
		text: { type: [{ code: "string" }] },
		line: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		city: { type: [{ code: "string" }] },
		district: { type: [{ code: "string" }] },
		state: { type: [{ code: "string" }] },
		postalCode: { type: [{ code: "string" }] },
		country: { type: [{ code: "string" }] },
		period: { type: [{ code: "Period" }] }
	} },
	Age: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	Annotation: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		"author[x]": { type: [{
			code: "Reference",
			targetProfile: [
				"http://hl7.org/fhir/StructureDefinition/Practitioner",
				"http://hl7.org/fhir/StructureDefinition/Patient",
				"http://hl7.org/fhir/StructureDefinition/RelatedPerson",
				"http://hl7.org/fhir/StructureDefinition/Organization"
			]
		}, { code: "string" }] },
		time: { type: [{ code: "dateTime" }] },
		text: {
			min: 1,
			type: [{ code: "markdown" }]
		}
	} },
	Attachment: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		contentType: { type: [{ code: "code" }] },
		language: { type: [{ code: "code" }] },
		data: { type: [{ code: "base64Binary" }] },
		url: { type: [{ code: "url" }] },
		size: { type: [{ code: "unsignedInt" }] },
		hash: { type: [{ code: "base64Binary" }] },
		title: { type: [{ code: "string" }] },
		creation: { type: [{ code: "dateTime" }] }
	} },
	CodeableConcept: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		coding: {
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		},
		text: { type: [{ code: "string" }] }
	} },
	Coding: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		system: { type: [{ code: "uri" }] },
		version: { type: [{ code: "string" }] },
		code: { type: [{ code: "code" }] },
		display: { type: [{ code: "string" }] },
		userSelected: { type: [{ code: "boolean" }] }
	} },
	ContactDetail: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		name: { type: [{ code: "string" }] },
		telecom: {
			max: 0x1fffffffffffff,
			type: [{ code: "ContactPoint" }]
		}
	} },
	ContactPoint: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		system: { type: [{ code: "code" }] },
		value: { type: [{ code: "string" }] },
		use: { type: [{ code: "code" }] },
		rank: { type: [{ code: "positiveInt" }] },
		period: { type: [{ code: "Period" }] }
	} },
	Contributor: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		name: {
			min: 1,
			type: [{ code: "string" }]
		},
		contact: {
			max: 0x1fffffffffffff,
			type: [{ code: "ContactDetail" }]
		}
	} },
	Count: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	DataRequirement: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		profile: {
			max: 0x1fffffffffffff,
			type: [{
				code: "canonical",
				targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition"]
			}]
		},
		"subject[x]": { type: [{ code: "CodeableConcept" }, {
			code: "Reference",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/Group"]
		}] },
		mustSupport: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		codeFilter: {
			max: 0x1fffffffffffff,
			type: [{ code: "DataRequirementCodeFilter" }]
		},
		dateFilter: {
			max: 0x1fffffffffffff,
			type: [{ code: "DataRequirementDateFilter" }]
		},
		limit: { type: [{ code: "positiveInt" }] },
		sort: {
			max: 0x1fffffffffffff,
			type: [{ code: "DataRequirementSort" }]
		}
	} },
	DataRequirementCodeFilter: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		path: { type: [{ code: "string" }] },
		searchParam: { type: [{ code: "string" }] },
		valueSet: { type: [{
			code: "canonical",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/ValueSet"]
		}] },
		code: {
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		}
	} },
	DataRequirementDateFilter: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		path: { type: [{ code: "string" }] },
		searchParam: { type: [{ code: "string" }] },
		"value[x]": { type: [
			{ code: "dateTime" },
			{ code: "Period" },
			{ code: "Duration" }
		] }
	} },
	DataRequirementSort: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		path: {
			min: 1,
			type: [{ code: "string" }]
		},
		direction: {
			min: 1,
			type: [{ code: "code" }]
		}
	} },
	Distance: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	Dosage: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		sequence: { type: [{ code: "integer" }] },
		text: { type: [{ code: "string" }] },
		additionalInstruction: {
			max: 0x1fffffffffffff,
			type: [{ code: "CodeableConcept" }]
		},
		patientInstruction: { type: [{ code: "string" }] },
		timing: { type: [{ code: "Timing" }] },
		"asNeeded[x]": { type: [{ code: "boolean" }, { code: "CodeableConcept" }] },
		site: { type: [{ code: "CodeableConcept" }] },
		route: { type: [{ code: "CodeableConcept" }] },
		method: { type: [{ code: "CodeableConcept" }] },
		doseAndRate: {
			max: 0x1fffffffffffff,
			type: [{ code: "DosageDoseAndRate" }]
		},
		maxDosePerPeriod: { type: [{ code: "Ratio" }] },
		maxDosePerAdministration: { type: [{
			code: "Quantity",
			profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
		}] },
		maxDosePerLifetime: { type: [{
			code: "Quantity",
			profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
		}] }
	} },
	DosageDoseAndRate: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: { type: [{ code: "CodeableConcept" }] },
		"dose[x]": { type: [{ code: "Range" }, {
			code: "Quantity",
			profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
		}] },
		"rate[x]": { type: [
			{ code: "Ratio" },
			{ code: "Range" },
			{
				code: "Quantity",
				profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
			}
		] }
	} },
	Duration: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	ElementDefinition: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		path: {
			min: 1,
			type: [{ code: "string" }]
		},
		representation: {
			max: 0x1fffffffffffff,
			type: [{ code: "code" }]
		},
		sliceName: { type: [{ code: "string" }] },
		sliceIsConstraining: { type: [{ code: "boolean" }] },
		label: { type: [{ code: "string" }] },
		code: {
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		},
		slicing: { type: [{ code: "ElementDefinitionSlicing" }] },
		short: { type: [{ code: "string" }] },
		definition: { type: [{ code: "markdown" }] },
		comment: { type: [{ code: "markdown" }] },
		requirements: { type: [{ code: "markdown" }] },
		alias: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		min: { type: [{ code: "unsignedInt" }] },
		max: { type: [{ code: "string" }] },
		base: { type: [{ code: "ElementDefinitionBase" }] },
		contentReference: { type: [{ code: "uri" }] },
		type: {
			max: 0x1fffffffffffff,
			type: [{ code: "ElementDefinitionType" }]
		},
		"defaultValue[x]": { type: [
			{ code: "base64Binary" },
			{ code: "boolean" },
			{ code: "canonical" },
			{ code: "code" },
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "decimal" },
			{ code: "id" },
			{ code: "instant" },
			{ code: "integer" },
			{ code: "markdown" },
			{ code: "oid" },
			{ code: "positiveInt" },
			{ code: "string" },
			{ code: "time" },
			{ code: "unsignedInt" },
			{ code: "uri" },
			{ code: "url" },
			{ code: "uuid" },
			{ code: "Address" },
			{ code: "Age" },
			{ code: "Annotation" },
			{ code: "Attachment" },
			{ code: "CodeableConcept" },
			{ code: "Coding" },
			{ code: "ContactPoint" },
			{ code: "Count" },
			{ code: "Distance" },
			{ code: "Duration" },
			{ code: "HumanName" },
			{ code: "Identifier" },
			{ code: "Money" },
			{ code: "Period" },
			{ code: "Quantity" },
			{ code: "Range" },
			{ code: "Ratio" },
			{ code: "Reference" },
			{ code: "SampledData" },
			{ code: "Signature" },
			{ code: "Timing" },
			{ code: "ContactDetail" },
			{ code: "Contributor" },
			{ code: "DataRequirement" },
			{ code: "Expression" },
			{ code: "ParameterDefinition" },
			{ code: "RelatedArtifact" },
			{ code: "TriggerDefinition" },
			{ code: "UsageContext" },
			{ code: "Dosage" },
			{ code: "Meta" }
		] },
		meaningWhenMissing: { type: [{ code: "markdown" }] },
		orderMeaning: { type: [{ code: "string" }] },
		"fixed[x]": { type: [
			{ code: "base64Binary" },
			{ code: "boolean" },
			{ code: "canonical" },
			{ code: "code" },
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "decimal" },
			{ code: "id" },
			{ code: "instant" },
			{ code: "integer" },
			{ code: "markdown" },
			{ code: "oid" },
			{ code: "positiveInt" },
			{ code: "string" },
			{ code: "time" },
			{ code: "unsignedInt" },
			{ code: "uri" },
			{ code: "url" },
			{ code: "uuid" },
			{ code: "Address" },
			{ code: "Age" },
			{ code: "Annotation" },
			{ code: "Attachment" },
			{ code: "CodeableConcept" },
			{ code: "Coding" },
			{ code: "ContactPoint" },
			{ code: "Count" },
			{ code: "Distance" },
			{ code: "Duration" },
			{ code: "HumanName" },
			{ code: "Identifier" },
			{ code: "Money" },
			{ code: "Period" },
			{ code: "Quantity" },
			{ code: "Range" },
			{ code: "Ratio" },
			{ code: "Reference" },
			{ code: "SampledData" },
			{ code: "Signature" },
			{ code: "Timing" },
			{ code: "ContactDetail" },
			{ code: "Contributor" },
			{ code: "DataRequirement" },
			{ code: "Expression" },
			{ code: "ParameterDefinition" },
			{ code: "RelatedArtifact" },
			{ code: "TriggerDefinition" },
			{ code: "UsageContext" },
			{ code: "Dosage" },
			{ code: "Meta" }
		] },
		"pattern[x]": { type: [
			{ code: "base64Binary" },
			{ code: "boolean" },
			{ code: "canonical" },
			{ code: "code" },
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "decimal" },
			{ code: "id" },
			{ code: "instant" },
			{ code: "integer" },
			{ code: "markdown" },
			{ code: "oid" },
			{ code: "positiveInt" },
			{ code: "string" },
			{ code: "time" },
			{ code: "unsignedInt" },
			{ code: "uri" },
			{ code: "url" },
			{ code: "uuid" },
			{ code: "Address" },
			{ code: "Age" },
			{ code: "Annotation" },
			{ code: "Attachment" },
			{ code: "CodeableConcept" },
			{ code: "Coding" },
			{ code: "ContactPoint" },
			{ code: "Count" },
			{ code: "Distance" },
			{ code: "Duration" },
			{ code: "HumanName" },
			{ code: "Identifier" },
			{ code: "Money" },
			{ code: "Period" },
			{ code: "Quantity" },
			{ code: "Range" },
			{ code: "Ratio" },
			{ code: "Reference" },
			{ code: "SampledData" },
			{ code: "Signature" },
			{ code: "Timing" },
			{ code: "ContactDetail" },
			{ code: "Contributor" },
			{ code: "DataRequirement" },
			{ code: "Expression" },
			{ code: "ParameterDefinition" },
			{ code: "RelatedArtifact" },
			{ code: "TriggerDefinition" },
			{ code: "UsageContext" },
			{ code: "Dosage" },
			{ code: "Meta" }
		] },
		example: {
			max: 0x1fffffffffffff,
			type: [{ code: "ElementDefinitionExample" }]
		},
		"minValue[x]": { type: [
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "instant" },
			{ code: "time" },
			{ code: "decimal" },
			{ code: "integer" },
			{ code: "positiveInt" },
			{ code: "unsignedInt" },
			{ code: "Quantity" }
		] },
		"maxValue[x]": { type: [
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "instant" },
			{ code: "time" },
			{ code: "decimal" },
			{ code: "integer" },
			{ code: "positiveInt" },
			{ code: "unsignedInt" },
			{ code: "Quantity" }
		] },
		maxLength: { type: [{ code: "integer" }] },
		condition: {
			max: 0x1fffffffffffff,
			type: [{ code: "id" }]
		},
		constraint: {
			max: 0x1fffffffffffff,
			type: [{ code: "ElementDefinitionConstraint" }]
		},
		mustSupport: { type: [{ code: "boolean" }] },
		isModifier: { type: [{ code: "boolean" }] },
		isModifierReason: { type: [{ code: "string" }] },
		isSummary: { type: [{ code: "boolean" }] },
		binding: { type: [{ code: "ElementDefinitionBinding" }] },
		mapping: {
			max: 0x1fffffffffffff,
			type: [{ code: "ElementDefinitionMapping" }]
		}
	} },
	ElementDefinitionSlicingDiscriminator: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		path: {
			min: 1,
			type: [{ code: "string" }]
		}
	} },
	ElementDefinitionSlicing: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		discriminator: {
			max: 0x1fffffffffffff,
			type: [{ code: "ElementDefinitionSlicingDiscriminator" }]
		},
		description: { type: [{ code: "string" }] },
		ordered: { type: [{ code: "boolean" }] },
		rules: {
			min: 1,
			type: [{ code: "code" }]
		}
	} },
	ElementDefinitionBase: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		path: {
			min: 1,
			type: [{ code: "string" }]
		},
		min: {
			min: 1,
			type: [{ code: "unsignedInt" }]
		},
		max: {
			min: 1,
			type: [{ code: "string" }]
		}
	} },
	ElementDefinitionType: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		code: {
			min: 1,
			type: [{ code: "uri" }]
		},
		profile: {
			max: 0x1fffffffffffff,
			type: [{
				code: "canonical",
				targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition", "http://hl7.org/fhir/StructureDefinition/ImplementationGuide"]
			}]
		},
		targetProfile: {
			max: 0x1fffffffffffff,
			type: [{
				code: "canonical",
				targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition", "http://hl7.org/fhir/StructureDefinition/ImplementationGuide"]
			}]
		},
		aggregation: {
			max: 0x1fffffffffffff,
			type: [{ code: "code" }]
		},
		versioning: { type: [{ code: "code" }] }
	} },
	ElementDefinitionExample: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		label: {
			min: 1,
			type: [{ code: "string" }]
		},
		"value[x]": {
			min: 1,
			type: [
				{ code: "base64Binary" },
				{ code: "boolean" },
				{ code: "canonical" },
				{ code: "code" },
				{ code: "date" },
				{ code: "dateTime" },
				{ code: "decimal" },
				{ code: "id" },
				{ code: "instant" },
				{ code: "integer" },
				{ code: "markdown" },
				{ code: "oid" },
				{ code: "positiveInt" },
				{ code: "string" },
				{ code: "time" },
				{ code: "unsignedInt" },
				{ code: "uri" },
				{ code: "url" },
				{ code: "uuid" },
				{ code: "Address" },
				{ code: "Age" },
				{ code: "Annotation" },
				{ code: "Attachment" },
				{ code: "CodeableConcept" },
				{ code: "Coding" },
				{ code: "ContactPoint" },
				{ code: "Count" },
				{ code: "Distance" },
				{ code: "Duration" },
				{ code: "HumanName" },
				{ code: "Identifier" },
				{ code: "Money" },
				{ code: "Period" },
				{ code: "Quantity" },
				{ code: "Range" },
				{ code: "Ratio" },
				{ code: "Reference" },
				{ code: "SampledData" },
				{ code: "Signature" },
				{ code: "Timing" },
				{ code: "ContactDetail" },
				{ code: "Contributor" },
				{ code: "DataRequirement" },
				{ code: "Expression" },
				{ code: "ParameterDefinition" },
				{ code: "RelatedArtifact" },
				{ code: "TriggerDefinition" },
				{ code: "UsageContext" },
				{ code: "Dosage" },
				{ code: "Meta" }
			]
		}
	} },
	ElementDefinitionConstraint: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		key: {
			min: 1,
			type: [{ code: "id" }]
		},
		requirements: { type: [{ code: "string" }] },
		severity: {
			min: 1,
			type: [{ code: "code" }]
		},
		human: {
			min: 1,
			type: [{ code: "string" }]
		},
		expression: { type: [{ code: "string" }] },
		xpath: { type: [{ code: "string" }] },
		source: { type: [{
			code: "canonical",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition"]
		}] }
	} },
	ElementDefinitionBinding: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		strength: {
			min: 1,
			type: [{ code: "code" }]
		},
		description: { type: [{ code: "string" }] },
		valueSet: { type: [{
			code: "canonical",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/ValueSet"]
		}] }
	} },
	ElementDefinitionMapping: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		identity: {
			min: 1,
			type: [{ code: "id" }]
		},
		language: { type: [{ code: "code" }] },
		map: {
			min: 1,
			type: [{ code: "string" }]
		},
		comment: { type: [{ code: "string" }] }
	} },
	Expression: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		description: { type: [{ code: "string" }] },
		name: { type: [{ code: "id" }] },
		language: {
			min: 1,
			type: [{ code: "code" }]
		},
		expression: { type: [{ code: "string" }] },
		reference: { type: [{ code: "uri" }] }
	} },
	Extension: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		url: {
			min: 1,
			type: [{ code: "uri" }]
		},
		"value[x]": { type: [
			{ code: "base64Binary" },
			{ code: "boolean" },
			{ code: "canonical" },
			{ code: "code" },
			{ code: "date" },
			{ code: "dateTime" },
			{ code: "decimal" },
			{ code: "id" },
			{ code: "instant" },
			{ code: "integer" },
			{ code: "markdown" },
			{ code: "oid" },
			{ code: "positiveInt" },
			{ code: "string" },
			{ code: "time" },
			{ code: "unsignedInt" },
			{ code: "uri" },
			{ code: "url" },
			{ code: "uuid" },
			{ code: "Address" },
			{ code: "Age" },
			{ code: "Annotation" },
			{ code: "Attachment" },
			{ code: "CodeableConcept" },
			{ code: "Coding" },
			{ code: "ContactPoint" },
			{ code: "Count" },
			{ code: "Distance" },
			{ code: "Duration" },
			{ code: "HumanName" },
			{ code: "Identifier" },
			{ code: "Money" },
			{ code: "Period" },
			{ code: "Quantity" },
			{ code: "Range" },
			{ code: "Ratio" },
			{ code: "Reference" },
			{ code: "SampledData" },
			{ code: "Signature" },
			{ code: "Timing" },
			{ code: "ContactDetail" },
			{ code: "Contributor" },
			{ code: "DataRequirement" },
			{ code: "Expression" },
			{ code: "ParameterDefinition" },
			{ code: "RelatedArtifact" },
			{ code: "TriggerDefinition" },
			{ code: "UsageContext" },
			{ code: "Dosage" },
			{ code: "Meta" }
		] }
	} },
	HumanName: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		use: { type: [{ code: "code" }] },
		text: { type: [{ code: "string" }] },
		family: { type: [{ code: "string" }] },
		given: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		prefix: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		suffix: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		period: { type: [{ code: "Period" }] }
	} },
	Identifier: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		use: { type: [{ code: "code" }] },
		type: { type: [{ code: "CodeableConcept" }] },
		system: { type: [{ code: "uri" }] },
		value: { type: [{ code: "string" }] },
		period: { type: [{ code: "Period" }] },
		assigner: { type: [{
			code: "Reference",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/Organization"]
		}] }
	} },
	MarketingStatus: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		country: {
			min: 1,
			type: [{ code: "CodeableConcept" }]
		},
		jurisdiction: { type: [{ code: "CodeableConcept" }] },
		status: {
			min: 1,
			type: [{ code: "CodeableConcept" }]
		},
		dateRange: {
			min: 1,
			type: [{ code: "Period" }]
		},
		restoreDate: { type: [{ code: "dateTime" }] }
	} },
	Meta: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		versionId: { type: [{ code: "id" }] },
		lastUpdated: { type: [{ code: "instant" }] },
		source: { type: [{ code: "uri" }] },
		profile: {
			max: 0x1fffffffffffff,
			type: [{
				code: "canonical",
				targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition"]
			}]
		},
		security: {
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		},
		tag: {
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		},
		project: { type: [{ code: "uri" }] },
		author: { type: [{ code: "Reference" }] },
		onBehalfOf: { type: [{ code: "Reference" }] },
		account: { type: [{ code: "Reference" }] },
		accounts: {
			max: 0x1fffffffffffff,
			type: [{ code: "Reference" }]
		},
		compartment: {
			max: 0x1fffffffffffff,
			type: [{ code: "Reference" }]
		},
		deleted: { type: [{ code: "boolean" }] }
	} },
	Money: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		currency: { type: [{ code: "code" }] }
	} },
	Narrative: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		status: {
			min: 1,
			type: [{ code: "code" }]
		},
		div: {
			min: 1,
			type: [{ code: "xhtml" }]
		}
	} },
	ParameterDefinition: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		name: { type: [{ code: "code" }] },
		use: {
			min: 1,
			type: [{ code: "code" }]
		},
		min: { type: [{ code: "integer" }] },
		max: { type: [{ code: "string" }] },
		documentation: { type: [{ code: "string" }] },
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		profile: { type: [{
			code: "canonical",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/StructureDefinition"]
		}] }
	} },
	Period: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		start: { type: [{ code: "dateTime" }] },
		end: { type: [{ code: "dateTime" }] }
	} },
	Population: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		"age[x]": { type: [{ code: "Range" }, { code: "CodeableConcept" }] },
		gender: { type: [{ code: "CodeableConcept" }] },
		race: { type: [{ code: "CodeableConcept" }] },
		physiologicalCondition: { type: [{ code: "CodeableConcept" }] }
	} },
	ProdCharacteristic: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		height: { type: [{ code: "Quantity" }] },
		width: { type: [{ code: "Quantity" }] },
		depth: { type: [{ code: "Quantity" }] },
		weight: { type: [{ code: "Quantity" }] },
		nominalVolume: { type: [{ code: "Quantity" }] },
		externalDiameter: { type: [{ code: "Quantity" }] },
		shape: { type: [{ code: "string" }] },
		color: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		imprint: {
			max: 0x1fffffffffffff,
			type: [{ code: "string" }]
		},
		image: {
			max: 0x1fffffffffffff,
			type: [{ code: "Attachment" }]
		},
		scoring: { type: [{ code: "CodeableConcept" }] }
	} },
	ProductShelfLife: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		identifier: { type: [{ code: "Identifier" }] },
		type: {
			min: 1,
			type: [{ code: "CodeableConcept" }]
		},
		period: {
			min: 1,
			type: [{ code: "Quantity" }]
		},
		specialPrecautionsForStorage: {
			max: 0x1fffffffffffff,
			type: [{ code: "CodeableConcept" }]
		}
	} },
	Quantity: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	Range: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		low: { type: [{
			code: "Quantity",
			profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
		}] },
		high: { type: [{
			code: "Quantity",
			profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
		}] }
	} },
	Ratio: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		numerator: { type: [{ code: "Quantity" }] },
		denominator: { type: [{ code: "Quantity" }] }
	} },
	Reference: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		reference: { type: [{ code: "string" }] },
		type: { type: [{ code: "uri" }] },
		identifier: { type: [{ code: "Identifier" }] },
		display: { type: [{ code: "string" }] }
	} },
	RelatedArtifact: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		label: { type: [{ code: "string" }] },
		display: { type: [{ code: "string" }] },
		citation: { type: [{ code: "markdown" }] },
		url: { type: [{ code: "url" }] },
		document: { type: [{ code: "Attachment" }] },
		resource: { type: [{
			code: "canonical",
			targetProfile: ["http://hl7.org/fhir/StructureDefinition/Resource"]
		}] }
	} },
	SampledData: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		origin: {
			min: 1,
			type: [{
				code: "Quantity",
				profile: ["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]
			}]
		},
		period: {
			min: 1,
			type: [{ code: "decimal" }]
		},
		factor: { type: [{ code: "decimal" }] },
		lowerLimit: { type: [{ code: "decimal" }] },
		upperLimit: { type: [{ code: "decimal" }] },
		dimensions: {
			min: 1,
			type: [{ code: "positiveInt" }]
		},
		data: { type: [{ code: "string" }] }
	} },
	Signature: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			max: 0x1fffffffffffff,
			type: [{ code: "Coding" }]
		},
		when: {
			min: 1,
			type: [{ code: "instant" }]
		},
		who: {
			min: 1,
			type: [{
				code: "Reference",
				targetProfile: [
					"http://hl7.org/fhir/StructureDefinition/Practitioner",
					"http://hl7.org/fhir/StructureDefinition/PractitionerRole",
					"http://hl7.org/fhir/StructureDefinition/RelatedPerson",
					"http://hl7.org/fhir/StructureDefinition/Patient",
					"http://hl7.org/fhir/StructureDefinition/Device",
					"http://hl7.org/fhir/StructureDefinition/Organization"
				]
			}]
		},
		onBehalfOf: { type: [{
			code: "Reference",
			targetProfile: [
				"http://hl7.org/fhir/StructureDefinition/Practitioner",
				"http://hl7.org/fhir/StructureDefinition/PractitionerRole",
				"http://hl7.org/fhir/StructureDefinition/RelatedPerson",
				"http://hl7.org/fhir/StructureDefinition/Patient",
				"http://hl7.org/fhir/StructureDefinition/Device",
				"http://hl7.org/fhir/StructureDefinition/Organization"
			]
		}] },
		targetFormat: { type: [{ code: "code" }] },
		sigFormat: { type: [{ code: "code" }] },
		data: { type: [{ code: "base64Binary" }] }
	} },
	SubstanceAmount: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		"amount[x]": { type: [
			{ code: "Quantity" },
			{ code: "Range" },
			{ code: "string" }
		] },
		amountType: { type: [{ code: "CodeableConcept" }] },
		amountText: { type: [{ code: "string" }] },
		referenceRange: { type: [{ code: "SubstanceAmountReferenceRange" }] }
	} },
	SubstanceAmountReferenceRange: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		lowLimit: { type: [{ code: "Quantity" }] },
		highLimit: { type: [{ code: "Quantity" }] }
	} },
	Timing: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		modifierExtension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		event: {
			max: 0x1fffffffffffff,
			type: [{ code: "dateTime" }]
		},
		repeat: { type: [{ code: "TimingRepeat" }] },
		code: { type: [{ code: "CodeableConcept" }] }
	} },
	TimingRepeat: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		"bounds[x]": { type: [
			{ code: "Duration" },
			{ code: "Range" },
			{ code: "Period" }
		] },
		count: { type: [{ code: "positiveInt" }] },
		countMax: { type: [{ code: "positiveInt" }] },
		duration: { type: [{ code: "decimal" }] },
		durationMax: { type: [{ code: "decimal" }] },
		durationUnit: { type: [{ code: "code" }] },
		frequency: { type: [{ code: "positiveInt" }] },
		frequencyMax: { type: [{ code: "positiveInt" }] },
		period: { type: [{ code: "decimal" }] },
		periodMax: { type: [{ code: "decimal" }] },
		periodUnit: { type: [{ code: "code" }] },
		dayOfWeek: {
			max: 0x1fffffffffffff,
			type: [{ code: "code" }]
		},
		timeOfDay: {
			max: 0x1fffffffffffff,
			type: [{ code: "time" }]
		},
		when: {
			max: 0x1fffffffffffff,
			type: [{ code: "code" }]
		},
		offset: { type: [{ code: "unsignedInt" }] }
	} },
	TriggerDefinition: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		type: {
			min: 1,
			type: [{ code: "code" }]
		},
		name: { type: [{ code: "string" }] },
		"timing[x]": { type: [
			{ code: "Timing" },
			{
				code: "Reference",
				targetProfile: ["http://hl7.org/fhir/StructureDefinition/Schedule"]
			},
			{ code: "date" },
			{ code: "dateTime" }
		] },
		data: {
			max: 0x1fffffffffffff,
			type: [{ code: "DataRequirement" }]
		},
		condition: { type: [{ code: "Expression" }] }
	} },
	UsageContext: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		code: {
			min: 1,
			type: [{ code: "Coding" }]
		},
		"value[x]": {
			min: 1,
			type: [
				{ code: "CodeableConcept" },
				{ code: "Quantity" },
				{ code: "Range" },
				{
					code: "Reference",
					targetProfile: [
						"http://hl7.org/fhir/StructureDefinition/PlanDefinition",
						"http://hl7.org/fhir/StructureDefinition/ResearchStudy",
						"http://hl7.org/fhir/StructureDefinition/InsurancePlan",
						"http://hl7.org/fhir/StructureDefinition/HealthcareService",
						"http://hl7.org/fhir/StructureDefinition/Group",
						"http://hl7.org/fhir/StructureDefinition/Location",
						"http://hl7.org/fhir/StructureDefinition/Organization"
					]
				}
			]
		}
	} },
	MoneyQuantity: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: { type: [{ code: "code" }] },
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	SimpleQuantity: { elements: {
		id: { type: [{ code: "string" }] },
		extension: {
			max: 0x1fffffffffffff,
			type: [{ code: "Extension" }]
		},
		value: { type: [{ code: "decimal" }] },
		comparator: {
			max: 0,
			type: [{ code: "code" }]
		},
		unit: { type: [{ code: "string" }] },
		system: { type: [{ code: "uri" }] },
		code: { type: [{ code: "code" }] }
	} },
	IdentityProvider: { elements: {
		issuer: { type: [{ code: "string" }] },
		audience: { type: [{ code: "string" }] },
		jwksUrl: { type: [{ code: "string" }] },
		authorizeUrl: { type: [{ code: "string" }] },
		tokenUrl: { type: [{ code: "string" }] },
		tokenAuthMethod: { type: [{ code: "code" }] },
		userInfoUrl: { type: [{ code: "string" }] },
		userInfoMode: { type: [{ code: "code" }] },
		userInfoApiKey: { type: [{ code: "string" }] },
		clientId: { type: [{ code: "string" }] },
		clientSecret: { type: [{ code: "string" }] },
		usePkce: { type: [{ code: "boolean" }] },
		useSubject: { type: [{ code: "boolean" }] },
		identitySource: { type: [{ code: "code" }] },
		identityMappingMode: { type: [{ code: "code" }] }
	} }
};
function nr(t) {
	return new er(t).parse();
}
var Le = Li(Fi);
var rr = Object.create(null);
var Ui = Object.create(null);
var ca = {
	"http://hl7.org/fhir/StructureDefinition/MoneyQuantity": "MoneyQuantity",
	"http://hl7.org/fhir/StructureDefinition/SimpleQuantity": "SimpleQuantity",
	"http://hl7.org/fhir/uv/sql-on-fhir/StructureDefinition/ViewDefinition": "ViewDefinition"
};
function $i(t) {
	let e;
	return e = Ui[t], e || (e = Ui[t] = Object.create(null)), e;
}
function pt(t) {
	let n = (Array.isArray(t) ? t : t.entry?.map((r) => r.resource) ?? []).filter((r) => r?.resourceType === "StructureDefinition");
	Qi(n);
	for (let r of n) ir(r);
}
function ir(t) {
	if (!t?.name) throw new Error("Failed loading StructureDefinition from bundle");
	if (t.resourceType !== "StructureDefinition") return;
	let e = nr(t), n = ca[t.url], r, i;
	n ? (r = Le, i = n) : t.url === `http://hl7.org/fhir/StructureDefinition/${t.type}` || t.url === `https://medplum.com/fhir/StructureDefinition/${t.type}` || t.type?.startsWith("http://") || t.type?.startsWith("https://") ? (r = Le, i = t.type) : (r = $i(t.url), i = t.type), r[i] = e;
	for (let o of e.innerTypes) o.parentType = e, r[o.name] = o;
	rr[t.url] = e;
}
function ji() {
	return Le;
}
function Hi(t) {
	return !!Le[t];
}
function Fe(t, e) {
	if (e) {
		let n = $i(e)[t];
		if (n) return n;
	}
	return Le[t];
}
function Gi(t) {
	return !!rr[t];
}
var er = class {
	constructor(e) {
		c(this, "root");
		c(this, "elements");
		c(this, "elementIndex");
		c(this, "index");
		c(this, "resourceSchema");
		c(this, "slicingContext");
		c(this, "innerTypes");
		c(this, "backboneContext");
		if (!e.snapshot?.element || e.snapshot.element.length === 0) throw new Error(`No snapshot defined for StructureDefinition '${e.name}'`);
		this.root = e.snapshot.element[0], this.elements = e.snapshot.element.slice(1), this.elementIndex = Object.create(null), this.index = 0, this.resourceSchema = {
			name: e.name,
			path: this.root.path,
			title: e.title,
			type: e.type,
			url: e.url,
			version: e.version,
			kind: e.kind,
			description: pa(e),
			elements: {},
			constraints: this.parseElementDefinition(this.root).constraints,
			innerTypes: [],
			summaryProperties: /* @__PURE__ */ new Set(),
			mandatoryProperties: /* @__PURE__ */ new Set()
		}, this.innerTypes = [];
	}
	parse() {
		let e = this.next();
		for (; e;) {
			if (e.sliceName) this.parseSliceStart(e);
			else if (e.id?.includes(":")) {
				if (this.slicingContext?.current) {
					let n = Zn(e, this.slicingContext.path);
					this.slicingContext.current.elements[n] = this.parseElementDefinition(e);
				}
			} else {
				let n = this.parseElementDefinition(e);
				this.checkFieldEnter(e, n);
				let r = this.backboneContext;
				for (; r;) {
					if (e.path?.startsWith(r.path + ".")) {
						r.type.elements[Zn(e, r.path)] = n;
						break;
					}
					r = r.parent;
				}
				if (!r) {
					let i = Zn(e, this.root.path);
					e.isSummary && this.resourceSchema.summaryProperties?.add(i.replace("[x]", "")), n.min > 0 && this.resourceSchema.mandatoryProperties?.add(i.replace("[x]", "")), this.resourceSchema.elements[i] = n;
				}
				this.checkFieldExit(e);
			}
			e = this.next();
		}
		return this.checkFieldExit(), this.innerTypes.length > 0 && (this.resourceSchema.innerTypes = this.innerTypes), this.resourceSchema;
	}
	checkFieldEnter(e, n) {
		this.isInnerType(e) && this.enterInnerType(e), this.slicingContext && !Ke(this.slicingContext.path, e?.path) && (this.slicingContext = void 0), e.slicing && !this.slicingContext && this.enterSlice(e, n);
	}
	enterInnerType(e) {
		for (; this.backboneContext && !Ke(this.backboneContext?.path, e.path);) this.innerTypes.push(this.backboneContext.type), this.backboneContext = this.backboneContext.parent;
		let n = tr(e);
		this.backboneContext = {
			type: {
				name: n,
				type: n,
				path: e.path,
				title: e.label,
				description: e.definition,
				elements: {},
				constraints: this.parseElementDefinition(e).constraints,
				innerTypes: []
			},
			path: e.path,
			parent: Ke(this.backboneContext?.path, e.path) ? this.backboneContext : this.backboneContext?.parent
		};
	}
	enterSlice(e, n) {
		la(e) && !this.peek()?.sliceName || (n.slicing = {
			discriminator: (e.slicing?.discriminator ?? []).map((r) => {
				if (r.type !== "value" && r.type !== "pattern" && r.type !== "type") throw new Error(`Unsupported slicing discriminator type: ${r.type}`);
				return {
					path: r.path,
					type: r.type
				};
			}),
			slices: [],
			ordered: e.slicing?.ordered ?? !1,
			rule: e.slicing?.rules
		}, this.slicingContext = {
			field: n.slicing,
			path: e.path ?? ""
		});
	}
	checkFieldExit(e = void 0) {
		if (this.backboneContext && !Ke(this.backboneContext.path, e?.path)) if (this.backboneContext.parent) do
			this.innerTypes.push(this.backboneContext.type), this.backboneContext = this.backboneContext.parent;
		while (this.backboneContext && !Ke(this.backboneContext.path, e?.path));
		else this.innerTypes.push(this.backboneContext.type), this.backboneContext = void 0;
	}
	next() {
		let e = this.peek();
		if (e) return this.index++, e;
	}
	peek() {
		let e = this.elements[this.index];
		if (e) {
			if (this.elementIndex[e.path ?? ""] = e, e.contentReference) {
				let n = e.contentReference.slice(e.contentReference.indexOf("#") + 1), r = this.elementIndex[n];
				return r ? {
					...r,
					id: e.id,
					path: e.path,
					min: e.min ?? r.min,
					max: e.max ?? r.max,
					base: {
						path: r.base?.path ?? n,
						min: e.base?.min ?? r.base?.min ?? r.min,
						max: e.base?.max ?? r.base?.max ?? r.max
					},
					contentReference: e.contentReference,
					definition: e.definition
				} : void 0;
			}
			return e;
		}
	}
	isInnerType(e) {
		let n = this.peek();
		return !!(Ke(e?.path, n?.path) && e.type?.some((r) => ["BackboneElement", "Element"].includes(r.code)));
	}
	parseSliceStart(e) {
		if (!this.slicingContext) throw new Error(`Invalid slice start before discriminator: ${e.sliceName} (${e.id})`);
		this.slicingContext.current = {
			...this.parseElementDefinition(e),
			name: e.sliceName ?? "",
			definition: e.definition,
			elements: {}
		}, this.slicingContext.field.slices.push(this.slicingContext.current);
	}
	parseElementDefinitionType(e) {
		return (e.type ?? []).map((n) => {
			let r;
			return (n.code === "BackboneElement" || n.code === "Element") && (r = tr(e)), r || (r = le(n, "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type")?.valueUrl), r || (r = n.code ?? ""), {
				code: r,
				targetProfile: n.targetProfile,
				profile: n.profile
			};
		});
	}
	parseElementDefinition(e) {
		let n = qi(e.max), r = e.base?.max ? qi(e.base.max) : n, i = {
			type: "ElementDefinition",
			value: e
		};
		return {
			description: e.definition || "",
			path: e.path || e.base?.path || "",
			min: e.min ?? 0,
			max: n,
			isArray: r > 1,
			constraints: (e.constraint ?? []).map((o) => ({
				key: o.key ?? "",
				severity: o.severity ?? "error",
				expression: o.expression ?? "",
				description: o.human ?? ""
			})),
			type: this.parseElementDefinitionType(e),
			fixed: Wi(N(i, "fixed[x]")),
			pattern: Wi(N(i, "pattern[x]")),
			binding: e.binding
		};
	}
};
function qi(t) {
	return t === "*" ? Number.POSITIVE_INFINITY : Number.parseInt(t, 10);
}
function Zn(t, e = "") {
	return da(t.path, e);
}
function da(t, e) {
	return t ? e && t.startsWith(e) ? t.substring(e.length + 1) : t : "";
}
function Ke(t, e) {
	return !t || !e ? !1 : e.startsWith(t + ".") || e === t;
}
function Wi(t) {
	return Array.isArray(t) && t.length > 0 ? t[0] : w(t) ? void 0 : t;
}
function la(t) {
	let e = t.slicing?.discriminator;
	return !!(t.type?.some((n) => n.code === "Extension") && e?.length === 1 && e[0].type === "value" && e[0].path === "url");
}
function pa(t) {
	let e = t.description;
	return e?.startsWith(`Base StructureDefinition for ${t.name} Type: `) && (e = e.substring(`Base StructureDefinition for ${t.name} Type: `.length)), e;
}
function cr(t, e, n) {
	let r = t.path;
	return fa(N(t, e, n), r, e);
}
function fa(t, e, n) {
	let r = e ? e + "." : "";
	return t === void 0 ? {
		type: "undefined",
		value: void 0,
		path: `${r}${n}`
	} : Array.isArray(t) ? t.map((i, o) => ({
		...i,
		path: `${r}${n}[${o}]`
	})) : {
		...t,
		path: `${r}${n}`
	};
}
new te(1e3);
var $t = {
	canonical: /^\S*$/,
	code: /^[^\s]+( [^\s]+)*$/,
	date: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1]))?)?$/,
	dateTime: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1])(T([01]\d|2[0-3])(:[0-5]\d:([0-5]\d|60)(\.\d{1,9})?)?)?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)?)?)?$/,
	id: /^[A-Za-z0-9\-.]{1,64}$/,
	instant: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2]\d|3[0-1])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/,
	markdown: /^[\r\n\t\u0020-\uFFFF]+$/,
	oid: /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/,
	string: /^[\r\n\t\u0020-\uFFFF]+$/,
	time: /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?$/,
	uri: /^\S*$/,
	url: /^\S*$/,
	uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	xhtml: /.*/
};
function y(t) {
	return [{
		type: p.boolean,
		value: t
	}];
}
function R(t) {
	return t == null ? {
		type: "undefined",
		value: void 0
	} : Number.isSafeInteger(t) ? {
		type: p.integer,
		value: t
	} : typeof t == "number" ? {
		type: p.decimal,
		value: t
	} : typeof t == "boolean" ? {
		type: p.boolean,
		value: t
	} : typeof t == "string" ? {
		type: p.string,
		value: t
	} : L(t) ? {
		type: p.Quantity,
		value: t
	} : V(t) ? {
		type: t.resourceType,
		value: t
	} : yr(t) ? {
		type: p.CodeableConcept,
		value: t
	} : zt(t) ? {
		type: p.Coding,
		value: t
	} : {
		type: p.BackboneElement,
		value: t
	};
}
function G(t) {
	return t.length === 0 ? !1 : !!t[0].value;
}
function F(t, e) {
	if (t.length !== 0) {
		if (t.length === 1 && (!e || t[0].type === e)) return t[0];
		{
			let n = e ? ` of type ${e}` : "";
			throw new Error(`Expected singleton${n}, but found ${JSON.stringify(t)}`);
		}
	}
}
function N(t, e, n) {
	if (!t.value) return;
	let r = Jt(t.type, e, n?.profileUrl);
	return r ? Ra(t, e, r) : Ca(t, e);
}
function Ra(t, e, n) {
	let r = t.value, i = n.type;
	if (!i || i.length === 0) return;
	let o, s = "undefined", a, u = n.path.lastIndexOf("."), d = n.path.substring(u + 1), l = d, f = !1;
	d.endsWith("[x]") && (l = d.substring(0, d.length - 3), f = !0);
	for (let h of i) {
		let b = l;
		if (f && (b += D(h.code)), o = r[b], a = r["_" + b], o !== void 0 || a !== void 0) {
			s = h.code;
			break;
		}
	}
	if (a) if (Array.isArray(o)) {
		o = o.slice();
		for (let h = 0; h < Math.max(o.length, a.length); h++) o[h] = mr(o[h], a[h]);
	} else if (!o && Array.isArray(a)) {
		o = a.slice();
		for (let h = 0; h < a.length; h++) o[h] = mr(void 0, a[h]);
	} else o = mr(o, a);
	if (!w(o)) return (s === "Element" || s === "BackboneElement") && (s = n.type[0].code), Array.isArray(o) ? o.map((h) => Yi(h, s)) : Yi(o, s);
}
function Yi(t, e) {
	return e === "Resource" && V(t) && (e = t.resourceType), {
		type: e,
		value: t
	};
}
function Ca(t, e) {
	let n = t.value;
	if (!n || typeof n != "object") return;
	let r;
	if (e in n) {
		let i = n[e];
		Array.isArray(i) ? r = i.map(R) : r = R(i);
	} else {
		let i = e.endsWith("[x]") ? e.substring(0, e.length - 3) : e;
		for (let o of Object.values(p)) {
			let s = i + D(o);
			if (s in n) {
				let a = n[s];
				Array.isArray(a) ? r = a.map((u) => ({
					type: o,
					value: u
				})) : r = {
					type: o,
					value: a
				};
				break;
			}
		}
	}
	if (Array.isArray(r)) {
		if (r.length === 0 || w(r[0])) return;
	} else if (w(r)) return;
	return r;
}
function Gt(t) {
	let e = [];
	for (let n of t) {
		let r = !1;
		for (let i of e) if (G(gt(n, i))) {
			r = !0;
			break;
		}
		r || e.push(n);
	}
	return e;
}
function eo(t) {
	return y(!G(t));
}
function to(t, e) {
	return t.length === 0 || e.length === 0 ? [] : t.length !== e.length ? y(!1) : y(t.every((n, r) => G(gt(n, e[r]))));
}
function no(t, e) {
	return t.length === 0 || e.length === 0 ? [] : t.length !== e.length ? y(!0) : y(t.some((n, r) => !G(gt(n, e[r]))));
}
function gt(t, e) {
	let n = t.value?.valueOf(), r = e.value?.valueOf();
	return typeof n == "number" && typeof r == "number" ? y(Math.abs(n - r) < 1e-8) : L(n) && L(r) ? y(oo(n, r)) : y(typeof n == "object" && typeof r == "object" ? gr(t, e) : n === r);
}
function hr(t, e) {
	return t.length === 0 && e.length === 0 ? y(!0) : t.length !== e.length ? y(!1) : (t.sort(Xi), e.sort(Xi), y(t.every((n, r) => G(Pa(n, e[r])))));
}
function Pa(t, e) {
	let { type: n, value: r } = t, { type: i, value: o } = e, s = r?.valueOf(), a = o?.valueOf();
	return typeof s == "number" && typeof a == "number" ? y(Math.abs(s - a) < .01) : L(s) && L(a) ? y(oo(s, a)) : y(n === "Coding" && i === "Coding" ? typeof s != "object" || typeof a != "object" ? !1 : s.code === a.code && s.system === a.system : typeof s == "object" && typeof a == "object" ? gr({
		...s,
		id: void 0
	}, {
		...a,
		id: void 0
	}) : typeof s == "string" && typeof a == "string" ? s.toLowerCase() === a.toLowerCase() : s === a);
}
function Xi(t, e) {
	let n = t.value?.valueOf(), r = e.value?.valueOf();
	return typeof n == "number" && typeof r == "number" ? n - r : typeof n == "string" && typeof r == "string" ? n.localeCompare(r) : 0;
}
function tt(t, e) {
	let { value: n } = t;
	if (n == null) return !1;
	let r = e;
	switch (r.startsWith("System.") && (r = r.substring(7)), r.startsWith("FHIR.") && (r = r.substring(5)), r) {
		case "Boolean": return typeof n == "boolean";
		case "Decimal":
		case "Integer": return typeof n == "number";
		case "Date": return ro(n);
		case "DateTime": return Ht(n);
		case "Time": return typeof n == "string" && !!/^T\d/.exec(n);
		case "Period": return io(n);
		case "Quantity": return L(n);
		default: return t.type === r || typeof n == "object" && n?.resourceType === r;
	}
}
function ro(t) {
	return typeof t == "string" && !!$t.date.exec(t);
}
function Ht(t) {
	return typeof t == "string" && !!$t.dateTime.exec(t);
}
function io(t) {
	return !!(t && typeof t == "object" && ("start" in t && Ht(t.start) || "end" in t && Ht(t.end)));
}
function L(t) {
	return !!(t && typeof t == "object" && "value" in t && typeof t.value == "number");
}
function oo(t, e) {
	return Math.abs(t.value - e.value) < .01 && (t.unit === e.unit || t.code === e.code || t.unit === e.code || t.code === e.unit);
}
function gr(t, e) {
	let n = Object.keys(t), r = Object.keys(e);
	if (n.length !== r.length) return !1;
	for (let i of n) {
		let o = t[i], s = e[i];
		if (Zi(o) && Zi(s)) {
			if (!gr(o, s)) return !1;
		} else if (o !== s) return !1;
	}
	return !0;
}
function Zi(t) {
	return t !== null && typeof t == "object";
}
function mr(t, e) {
	if (e) {
		if (typeof e != "object") throw new Error("Primitive extension must be an object");
		return Ia(t ?? {}, e);
	}
	return t;
}
function Ia(t, e) {
	return delete e.__proto__, delete e.constructor, Object.assign(t, e);
}
function yt(t, e) {
	return V(t, e) && "id" in t && typeof t.id == "string";
}
function X(t) {
	let e = O(t) ?? "undefined/undefined", n = Oa(t);
	return n === e ? { reference: e } : {
		reference: e,
		display: n
	};
}
function O(t) {
	if (yt(t)) return `${t.resourceType}/${t.id}`;
	if (W(t)) return t.reference;
}
function Z(t) {
	if (t) return W(t) ? t.reference.split("/")[1] : t.id;
}
function wa(t) {
	return t.resourceType === "Patient" || t.resourceType === "Practitioner" || t.resourceType === "RelatedPerson";
}
function Oa(t) {
	if (wa(t)) {
		let e = ka(t);
		if (e) return e;
	}
	if (t.resourceType === "Appointment" && t.serviceType?.[0]) return Ee(t.serviceType[0]);
	if (t.resourceType === "Device") {
		let e = Ma(t);
		if (e) return e;
	}
	if (t.resourceType === "DocumentReference") {
		if (t.description) return t.description;
		if (t.type) return Ee(t.type);
	}
	if (t.resourceType === "MedicationRequest" && t.medicationCodeableConcept) return Ee(t.medicationCodeableConcept);
	if (t.resourceType === "MedicationStatement" && t.medicationCodeableConcept) return Ee(t.medicationCodeableConcept);
	if (t.resourceType === "Slot" && (t.start || t.end)) return `${nt(t.start)} - ${nt(t.end)}`;
	if (t.resourceType === "Subscription" && t.criteria) return t.criteria;
	if (t.resourceType === "User" && t.email) return t.email;
	if ("name" in t && t.name && typeof t.name == "string") return t.name;
	if ("code" in t && t.code) {
		let e = t.code;
		if (Array.isArray(e) && (e = e[0]), yr(e)) return Ee(e);
		if (Ba(e)) return e.text;
	}
	return O(t) ?? "";
}
function ka(t) {
	let e = t.name;
	if (e && e.length > 0) return vt(e[0]);
}
function Ma(t) {
	let e = t.deviceName;
	if (e && e.length > 0) return e[0].name;
}
function Kt(t, e) {
	let n = new Date(t);
	n.setUTCHours(0, 0, 0, 0);
	let r = e ? new Date(e) : /* @__PURE__ */ new Date();
	r.setUTCHours(0, 0, 0, 0);
	let i = n.getUTCFullYear(), o = n.getUTCMonth(), s = n.getUTCDate(), a = r.getUTCFullYear(), u = r.getUTCMonth(), d = r.getUTCDate(), l = a - i;
	(u < o || u === o && d < s) && l--;
	let f = a * 12 + u - (i * 12 + o);
	d < s && f--;
	let h = Math.floor((r.getTime() - n.getTime()) / 864e5);
	return {
		years: l,
		months: f,
		days: h
	};
}
function le(t, ...e) {
	let n = t;
	for (let r = 0; r < e.length && n; r++) n = n?.extension?.find((i) => i.url === e[r]);
	return n;
}
function Yt(t, e) {
	let n = br(t);
	return JSON.stringify(n, null, e ? 2 : void 0) ?? "";
}
function br(t) {
	if (!(t == null || t === "")) return typeof t == "object" ? Array.isArray(t) ? Da(t) : Va(t) : t;
}
function Da(t) {
	let e = t.length;
	if (e === 0) return;
	let n, r = 0;
	for (let i = 0; i < e; i++) {
		let o = t[i], s = br(o);
		s !== o && !n && (n = Array.from(t)), s === void 0 ? n && (n[i] = null) : (n && (n[i] = s), r++);
	}
	if (r !== 0) return n ?? t;
}
function Va(t) {
	let e, n = 0;
	for (let r in t) {
		let i = t[r], o = br(i);
		o !== i && !e && (e = { ...t }), o === void 0 ? e && delete e[r] : (e && (e[r] = o), n++);
	}
	if (n !== 0) return e ?? t;
}
function w(t) {
	if (t == null) return !0;
	let e = typeof t;
	return e === "string" || e === "object" ? !pe(t) : !1;
}
function pe(t) {
	if (t == null) return !1;
	let e = typeof t;
	return e === "string" && t !== "" || e === "object" && ("length" in t && t.length > 0 || Object.keys(t).length > 0);
}
function Te(t, e, n) {
	return t === e || w(t) && w(e) ? !0 : w(t) || w(e) ? !1 : Array.isArray(t) && Array.isArray(e) ? _a(t, e) : Array.isArray(t) || Array.isArray(e) ? !1 : C(t) && C(e) ? Na(t, e, n) : !1;
}
function _a(t, e) {
	if (t.length !== e.length) return !1;
	for (let n = 0; n < t.length; n++) if (!Te(t[n], e[n])) return !1;
	return !0;
}
function Na(t, e, n) {
	let r = /* @__PURE__ */ new Set();
	for (let i of Object.keys(t)) r.add(i);
	for (let i of Object.keys(e)) r.add(i);
	n === "meta" && (r.delete("versionId"), r.delete("lastUpdated"), r.delete("author"));
	for (let i of r) if (!Te(t[i], e[i], i)) return !1;
	return !0;
}
function C(t) {
	return t !== null && typeof t == "object";
}
function zt(t) {
	return C(t) && "code" in t && typeof t.code == "string";
}
function yr(t) {
	return C(t) && "coding" in t && Array.isArray(t.coding) && t.coding.every(zt);
}
function Ba(t) {
	return C(t) && "text" in t && typeof t.text == "string";
}
var uo = [];
for (let t = 0; t < 256; t++) uo.push(t.toString(16).padStart(2, "0"));
function lo(t) {
	let e = fo(t), n = new Uint8Array(e), r = new Array(n.length);
	for (let i = 0; i < n.length; i++) r[i] = uo[n[i]];
	return r.join("");
}
function po(t) {
	let e = fo(t), n = new Uint8Array(e), r = new Array(n.length);
	for (let i = 0; i < n.length; i++) r[i] = String.fromCodePoint(n[i]);
	return window.btoa(r.join(""));
}
function fo(t) {
	return ArrayBuffer.isView(t) ? t.buffer : t;
}
function D(t) {
	return t ? t.charAt(0).toUpperCase() + t.substring(1) : "";
}
var Rr = (t, e) => new Promise((n, r) => {
	e?.signal?.throwIfAborted();
	let i = setTimeout(n, t);
	e?.signal?.addEventListener("abort", () => {
		clearTimeout(i), r(e.signal?.reason);
	}, { once: !0 });
});
function Xt(t) {
	return t.sort((e, n) => e.localeCompare(n));
}
function xt(t) {
	return t.endsWith("/") ? t : t + "/";
}
function Qa(t) {
	return t.startsWith("/") ? t.slice(1) : t;
}
function $(t, e) {
	return new URL(Qa(e), xt(t.toString())).toString();
}
function xo(t, e) {
	return $(t, e).toString().replace("http://", "ws://").replace("https://", "wss://");
}
function vo(t) {
	return typeof t == "object" && !Array.isArray(t) && !(t instanceof URLSearchParams) && (t = Object.fromEntries(Object.entries(t).filter((e) => e[1] !== void 0))), new URLSearchParams(t).toString();
}
var v = Object.freeze([]);
function vt(t, e) {
	if (!t) return "";
	let n = [];
	if (t.prefix && e?.prefix !== !1 && n.push(...t.prefix), t.given && n.push(...t.given), t.family && n.push(t.family), t.suffix && e?.suffix !== !1 && n.push(...t.suffix), t.use && (e?.all || e?.use) && n.push("[" + t.use + "]"), n.length === 0) {
		let r = Ue(t.text);
		if (r) return r;
	}
	return n.join(" ").trim();
}
function Zt(t) {
	return t instanceof Date && !Number.isNaN(t.getTime());
}
function nt(t, e, n) {
	if (!t) return "";
	let r = new Date(t);
	return Zt(r) ? r.toLocaleString(e, n) : "";
}
function Ee(t) {
	if (!t) return "";
	return Ue(t.text) || (t.coding ? t.coding.map((n) => Eo(n)).join(", ") : "");
}
function Eo(t, e) {
	let n = Ue(t?.display);
	if (n) {
		let r = e ? Ue(t?.code) : void 0;
		return `${n}${r ? " (" + r + ")" : ""}`;
	}
	return Ue(t?.code) ?? "";
}
function Ue(t) {
	return typeof t == "string" ? t : void 0;
}
var p = {
	Address: "Address",
	Age: "Age",
	Annotation: "Annotation",
	Attachment: "Attachment",
	BackboneElement: "BackboneElement",
	CodeableConcept: "CodeableConcept",
	Coding: "Coding",
	ContactDetail: "ContactDetail",
	ContactPoint: "ContactPoint",
	Contributor: "Contributor",
	Count: "Count",
	DataRequirement: "DataRequirement",
	Distance: "Distance",
	Dosage: "Dosage",
	Duration: "Duration",
	Element: "Element",
	ElementDefinition: "ElementDefinition",
	Expression: "Expression",
	Extension: "Extension",
	HumanName: "HumanName",
	Identifier: "Identifier",
	MarketingStatus: "MarketingStatus",
	Meta: "Meta",
	Money: "Money",
	MoneyQuantity: "MoneyQuantity",
	Narrative: "Narrative",
	ParameterDefinition: "ParameterDefinition",
	Period: "Period",
	Population: "Population",
	ProdCharacteristic: "ProdCharacteristic",
	ProductShelfLife: "ProductShelfLife",
	Quantity: "Quantity",
	Range: "Range",
	Ratio: "Ratio",
	Reference: "Reference",
	RelatedArtifact: "RelatedArtifact",
	SampledData: "SampledData",
	Signature: "Signature",
	SimpleQuantity: "SimpleQuantity",
	SubstanceAmount: "SubstanceAmount",
	SystemString: "http://hl7.org/fhirpath/System.String",
	Timing: "Timing",
	TriggerDefinition: "TriggerDefinition",
	UsageContext: "UsageContext",
	base64Binary: "base64Binary",
	boolean: "boolean",
	canonical: "canonical",
	code: "code",
	date: "date",
	dateTime: "dateTime",
	decimal: "decimal",
	id: "id",
	instant: "instant",
	integer: "integer",
	markdown: "markdown",
	oid: "oid",
	positiveInt: "positiveInt",
	string: "string",
	time: "time",
	unsignedInt: "unsignedInt",
	uri: "uri",
	url: "url",
	uuid: "uuid",
	xhtml: "xhtml"
};
function Qi(t) {
	let e = Array.isArray(t) ? t : t.entry?.map((n) => n.resource) ?? [];
	for (let n of e) n?.resourceType === "StructureDefinition" && n.kind === "resource" && Po(n.type);
}
function Po(t) {
	let e = Q.types[t];
	e || (e = { searchParamsDetails: {} }, Q.types[t] = e);
	let n;
	return !e.searchParams && t !== "Binary" && (e.searchParams = {
		_id: {
			base: [t],
			code: "_id",
			type: "token",
			expression: t + ".id"
		},
		_lastUpdated: {
			base: [t],
			code: "_lastUpdated",
			type: "date",
			expression: t + ".meta.lastUpdated"
		},
		_compartment: {
			base: [t],
			code: "_compartment",
			type: "reference",
			expression: t + ".meta.compartment",
			get target() {
				return n ??= ac(), n;
			}
		},
		_profile: {
			base: [t],
			code: "_profile",
			type: "uri",
			expression: t + ".meta.profile"
		},
		_security: {
			base: [t],
			code: "_security",
			type: "token",
			expression: t + ".meta.security"
		},
		_source: {
			base: [t],
			code: "_source",
			type: "uri",
			expression: t + ".meta.source"
		},
		_tag: {
			base: [t],
			code: "_tag",
			type: "token",
			expression: t + ".meta.tag"
		},
		_project: {
			base: [t],
			code: "_project",
			type: "token",
			expression: t + ".meta.project"
		}
	}), e;
}
function Pr(t) {
	for (let e of t.base ?? v) {
		let n = Po(e);
		n.searchParams || (n.searchParams = {}), n.searchParams[t.code] = t;
	}
}
function tr(t) {
	let e = t.type?.[0]?.code;
	return e === "BackboneElement" || e === "Element" ? Ir((t.base?.path ?? t.path)?.split(".")) : e;
}
function Ir(t) {
	return t.length === 1 ? t[0] : t.map(D).join("");
}
function mt(t) {
	return t.kind === "resource" && t.name !== "Resource" && t.name !== "DomainResource";
}
function ac() {
	return Object.values(ji()).filter(mt).map((t) => t.name);
}
function Jt(t, e, n) {
	let r = Fe(t, n);
	if (r) return Io(r.elements, e);
}
function Io(t, e) {
	let n = t[e] ?? t[e + "[x]"];
	if (n) return n;
	for (let r = 0; r < e.length; r++) {
		let i = e[r];
		if (i >= "A" && i <= "Z") {
			let s = t[e.slice(0, r) + "[x]"];
			if (s) return s;
		}
	}
}
function V(t, e) {
	return !(!t || typeof t != "object" || !("resourceType" in t) || e && t.resourceType !== e);
}
function W(t, e) {
	return t && typeof t == "object" && "reference" in t && typeof t.reference == "string" ? e ? t.reference.match(new RegExp(`^${e}(/|\\?)`)) !== null : !0 : !1;
}
var Q = { types: {} };
function it(t) {
	if (t.startsWith("T")) return t + "T00:00:00.000Z".substring(t.length);
	if (t.length <= 10) return t;
	try {
		return new Date(t).toISOString();
	} catch {
		return t;
	}
}
var he = () => [];
function St(t) {
	return t instanceof B ? t.name : t instanceof se && t.left instanceof B && t.right instanceof B ? t.left.name + "." + t.right.name : "";
}
var U = {
	empty: (t, e) => y(e.every((n) => w(n.value))),
	hasValue: (t, e) => y(e.length !== 0),
	exists: (t, e, n) => n ? y(e.some((r) => G(n.eval(t, [r])))) : y(e.length > 0 && e.every((r) => !w(r.value))),
	all: (t, e, n) => y(e.every((r) => G(n.eval(t, [r])))),
	allTrue: (t, e) => {
		for (let n of e) if (!n.value) return y(!1);
		return y(!0);
	},
	anyTrue: (t, e) => {
		for (let n of e) if (n.value) return y(!0);
		return y(!1);
	},
	allFalse: (t, e) => {
		for (let n of e) if (n.value) return y(!1);
		return y(!0);
	},
	anyFalse: (t, e) => {
		for (let n of e) if (!n.value) return y(!0);
		return y(!1);
	},
	subsetOf: (t, e, n) => {
		if (e.length === 0) return y(!0);
		let r = n.eval(t, Be(t));
		return r.length === 0 ? y(!1) : y(e.every((i) => r.some((o) => o.value === i.value)));
	},
	supersetOf: (t, e, n) => {
		let r = n.eval(t, Be(t));
		return r.length === 0 ? y(!0) : e.length === 0 ? y(!1) : y(r.every((i) => e.some((o) => o.value === i.value)));
	},
	count: (t, e) => [{
		type: p.integer,
		value: e.length
	}],
	distinct: (t, e) => {
		let n = [];
		for (let r of e) n.some((i) => i.value === r.value) || n.push(r);
		return n;
	},
	isDistinct: (t, e) => y(e.length === U.distinct(t, e).length),
	where: (t, e, n) => e.filter((r) => G(n.eval(t, [r]))),
	select: (t, e, n) => e.flatMap((r) => n.eval({
		parent: t,
		variables: { $this: r }
	}, [r])),
	repeat: he,
	ofType: (t, e, n) => {
		let r = St(n);
		return r ? e.filter((i) => tt(i, r)) : [];
	},
	single: (t, e) => {
		if (e.length > 1) throw new Error("Expected input length one for single()");
		return e.length === 0 ? [] : e.slice(0, 1);
	},
	first: (t, e) => e.length === 0 ? [] : e.slice(0, 1),
	last: (t, e) => e.length === 0 ? [] : e.slice(-1, e.length),
	tail: (t, e) => e.length === 0 ? [] : e.slice(1, e.length),
	skip: (t, e, n) => {
		let r = n.eval(t, e)[0]?.value;
		if (typeof r != "number") throw new TypeError("Expected a number for skip(num)");
		return r >= e.length ? [] : r <= 0 ? e : e.slice(r, e.length);
	},
	take: (t, e, n) => {
		let r = n.eval(t, e)[0]?.value;
		if (typeof r != "number") throw new TypeError("Expected a number for take(num)");
		return r <= 0 ? [] : e.slice(0, r);
	},
	intersect: (t, e, n) => {
		if (!n) return e;
		let r = n.eval(t, Be(t)), i = [];
		for (let o of e) !i.some((s) => s.value === o.value) && r.some((s) => s.value === o.value) && i.push(o);
		return i;
	},
	exclude: (t, e, n) => {
		if (!n) return e;
		let r = n.eval(t, Be(t)), i = [];
		for (let o of e) r.some((s) => s.value === o.value) || i.push(o);
		return i;
	},
	union: (t, e, n) => {
		if (!n) return e;
		let r = n.eval(t, Be(t));
		return Gt([...e, ...r]);
	},
	combine: (t, e, n) => {
		if (!n) return e;
		let r = n.eval(t, Be(t));
		return [...e, ...r];
	},
	htmlChecks: (t, e, n) => [R(!0)],
	iif: (t, e, n, r, i) => {
		let o = n.eval(t, e);
		if (o.length > 1 || o.length === 1 && typeof o[0].value != "boolean") throw new Error("Expected criterion to evaluate to a Boolean");
		return G(o) ? r.eval(t, e) : i ? i.eval(t, e) : [];
	},
	toBoolean: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		if (typeof n == "boolean") return [{
			type: p.boolean,
			value: n
		}];
		if (typeof n == "number" && (n === 0 || n === 1)) return y(!!n);
		if (typeof n == "string") {
			let r = n.toLowerCase();
			if ([
				"true",
				"t",
				"yes",
				"y",
				"1",
				"1.0"
			].includes(r)) return y(!0);
			if ([
				"false",
				"f",
				"no",
				"n",
				"0",
				"0.0"
			].includes(r)) return y(!1);
		}
		return [];
	},
	convertsToBoolean: (t, e) => e.length === 0 ? [] : y(U.toBoolean(t, e).length === 1),
	toInteger: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return typeof n == "number" ? [{
			type: p.integer,
			value: n
		}] : typeof n == "string" && /^[+-]?\d+$/.exec(n) ? [{
			type: p.integer,
			value: Number.parseInt(n, 10)
		}] : typeof n == "boolean" ? [{
			type: p.integer,
			value: n ? 1 : 0
		}] : [];
	},
	convertsToInteger: (t, e) => e.length === 0 ? [] : y(U.toInteger(t, e).length === 1),
	toDate: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return typeof n == "string" && /^\d{4}(-\d{2}(-\d{2})?)?/.exec(n) ? [{
			type: p.date,
			value: it(n)
		}] : [];
	},
	convertsToDate: (t, e) => e.length === 0 ? [] : y(U.toDate(t, e).length === 1),
	toDateTime: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return typeof n == "string" && /^\d{4}(-\d{2}(-\d{2})?)?/.exec(n) ? [{
			type: p.dateTime,
			value: it(n)
		}] : [];
	},
	convertsToDateTime: (t, e) => e.length === 0 ? [] : y(U.toDateTime(t, e).length === 1),
	toDecimal: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return typeof n == "number" ? [{
			type: p.decimal,
			value: n
		}] : typeof n == "string" && /^-?\d{1,9}(\.\d{1,9})?$/.exec(n) ? [{
			type: p.decimal,
			value: Number.parseFloat(n)
		}] : typeof n == "boolean" ? [{
			type: p.decimal,
			value: n ? 1 : 0
		}] : [];
	},
	convertsToDecimal: (t, e) => e.length === 0 ? [] : y(U.toDecimal(t, e).length === 1),
	toQuantity: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return L(n) ? [{
			type: p.Quantity,
			value: n
		}] : typeof n == "number" ? [{
			type: p.Quantity,
			value: {
				value: n,
				unit: "1"
			}
		}] : typeof n == "string" && /^-?\d{1,9}(\.\d{1,9})?/.exec(n) ? [{
			type: p.Quantity,
			value: {
				value: Number.parseFloat(n),
				unit: "1"
			}
		}] : typeof n == "boolean" ? [{
			type: p.Quantity,
			value: {
				value: n ? 1 : 0,
				unit: "1"
			}
		}] : [];
	},
	convertsToQuantity: (t, e) => e.length === 0 ? [] : y(U.toQuantity(t, e).length === 1),
	toString: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		return n == null ? [] : L(n) ? [{
			type: p.string,
			value: `${n.value} '${n.unit}'`
		}] : [{
			type: p.string,
			value: n.toString()
		}];
	},
	convertsToString: (t, e) => e.length === 0 ? [] : y(U.toString(t, e).length === 1),
	toTime: (t, e) => {
		if (e.length === 0) return [];
		let [{ value: n }] = oe(e, 1);
		if (typeof n == "string") {
			let r = /^T?(\d{2}(:\d{2}(:\d{2})?)?)/.exec(n);
			if (r) return [{
				type: p.time,
				value: it("T" + r[1])
			}];
		}
		return [];
	},
	convertsToTime: (t, e) => e.length === 0 ? [] : y(U.toTime(t, e).length === 1),
	indexOf: (t, e, n) => z((r, i) => r.indexOf(i), t, e, n),
	substring: (t, e, n, r) => z((i, o, s) => {
		let a = o, u = s ? a + s : i.length;
		return a < 0 || a >= i.length ? void 0 : i.substring(a, u);
	}, t, e, n, r),
	startsWith: (t, e, n) => z((r, i) => r.startsWith(i), t, e, n),
	endsWith: (t, e, n) => z((r, i) => r.endsWith(i), t, e, n),
	contains: (t, e, n) => z((r, i) => r.includes(i), t, e, n),
	upper: (t, e) => z((n) => n.toUpperCase(), t, e),
	lower: (t, e) => z((n) => n.toLowerCase(), t, e),
	replace: (t, e, n, r) => z((i, o, s) => i.replaceAll(o, s), t, e, n, r),
	matches: (t, e, n) => z((r, i) => !!new RegExp(i).exec(r), t, e, n),
	replaceMatches: (t, e, n, r) => z((i, o, s) => i.replaceAll(new RegExp(o, "g"), s.replaceAll(/\$\{(\w+)\}/g, "$<$1>")), t, e, n, r),
	length: (t, e) => z((n) => n.length, t, e),
	toChars: (t, e) => z((n) => n ? n.split("") : void 0, t, e),
	encode: he,
	decode: he,
	escape: he,
	unescape: he,
	trim: he,
	split: he,
	join: (t, e, n) => {
		let r = n?.eval(t, Be(t))[0]?.value ?? "";
		if (typeof r != "string") throw new TypeError("Separator must be a string.");
		return [{
			type: p.string,
			value: e.map((i) => i.value?.toString() ?? "").join(r)
		}];
	},
	abs: (t, e) => ie(Math.abs, t, e),
	ceiling: (t, e) => ie(Math.ceil, t, e),
	exp: (t, e) => ie(Math.exp, t, e),
	floor: (t, e) => ie(Math.floor, t, e),
	ln: (t, e) => ie(Math.log, t, e),
	log: (t, e, n) => ie((r, i) => Math.log(r) / Math.log(i), t, e, n),
	power: (t, e, n) => ie(Math.pow, t, e, n),
	round: (t, e, ...n) => ie((r, i = 0) => {
		if (typeof i != "number" || i < 0) throw new Error("Invalid precision provided to round()");
		let o = Math.pow(10, i);
		return Math.round(r * o) / o;
	}, t, e, ...n),
	sqrt: (t, e) => ie(Math.sqrt, t, e),
	truncate: (t, e) => ie((n) => Math.trunc(n), t, e),
	children: he,
	descendants: he,
	trace: (t, e, n) => e,
	now: () => [{
		type: p.dateTime,
		value: (/* @__PURE__ */ new Date()).toISOString()
	}],
	timeOfDay: () => [{
		type: p.time,
		value: (/* @__PURE__ */ new Date()).toISOString().substring(11)
	}],
	today: () => [{
		type: p.date,
		value: (/* @__PURE__ */ new Date()).toISOString().substring(0, 10)
	}],
	between: (t, e, n, r, i) => {
		let o = U.toDateTime(t, n.eval(t, e));
		if (o.length === 0) throw new Error("Invalid start date");
		let s = U.toDateTime(t, r.eval(t, e));
		if (s.length === 0) throw new Error("Invalid end date");
		let a = i.eval(t, e)[0]?.value;
		if (a !== "years" && a !== "months" && a !== "days") throw new Error("Invalid units");
		let u = Kt(o[0].value, s[0].value);
		return [{
			type: p.Quantity,
			value: {
				value: u[a],
				unit: a
			}
		}];
	},
	is: (t, e, n) => {
		let r = St(n);
		return r ? e.map((i) => ({
			type: p.boolean,
			value: tt(i, r)
		})) : [];
	},
	not: (t, e) => U.toBoolean(t, e).map((n) => ({
		type: p.boolean,
		value: !n.value
	})),
	resolve: (t, e) => e.map((n) => {
		let r = n.value, i;
		if (typeof r == "string") i = r;
		else if (typeof r == "object") {
			let o = r;
			if (o.resource) return R(o.resource);
			o.reference ? i = o.reference : o.type && o.identifier && (i = `${o.type}?identifier=${o.identifier.system}|${o.identifier.value}`);
		}
		if (i?.includes("?")) {
			let [o] = i.split("?");
			return {
				type: o,
				value: { resourceType: o }
			};
		}
		if (i?.includes("/")) {
			let [o, s] = i.split("/");
			return {
				type: o,
				value: {
					resourceType: o,
					id: s
				}
			};
		}
		return {
			type: p.BackboneElement,
			value: void 0
		};
	}).filter((n) => !!n.value),
	as: (t, e, n) => {
		let r = St(n);
		if (!r) throw new Error(`Expected a valid type identifier as the right operand of 'as', but found ${n.toString()}`);
		let i = F(e);
		return i && tt(i, r) ? [i] : [];
	},
	type: (t, e) => e.map(({ value: n }) => typeof n == "boolean" ? {
		type: p.BackboneElement,
		value: {
			namespace: "System",
			name: "Boolean"
		}
	} : typeof n == "number" ? {
		type: p.BackboneElement,
		value: {
			namespace: "System",
			name: "Integer"
		}
	} : V(n) ? {
		type: p.BackboneElement,
		value: {
			namespace: "FHIR",
			name: n.resourceType
		}
	} : {
		type: p.BackboneElement,
		value: null
	}),
	conformsTo: (t, e, n) => {
		let r = n.eval(t, e)[0].value;
		if (!r.startsWith("http://hl7.org/fhir/StructureDefinition/")) throw new Error("Expected a StructureDefinition URL");
		let i = r.replace("http://hl7.org/fhir/StructureDefinition/", "");
		return e.map((o) => ({
			type: p.boolean,
			value: o.value?.resourceType === i
		}));
	},
	getResourceKey: (t, e) => {
		let n = e[0]?.value;
		return n?.id ? [{
			type: p.id,
			value: n.id
		}] : [];
	},
	getReferenceKey: (t, e, n) => {
		let r = e[0]?.value;
		if (!r?.reference) return [];
		let i = "";
		return n instanceof B && (i = n.name), i && !r.reference.startsWith(i + "/") ? [] : [{
			type: p.id,
			value: Z(r)
		}];
	},
	extension: (t, e, n) => {
		let r = n.eval(t, e)[0].value, i = e?.[0]?.value;
		if (i) {
			let o = le(i, r);
			if (o) return [{
				type: p.Extension,
				value: o
			}];
		}
		return [];
	}
};
function z(t, e, n, ...r) {
	if (n.length === 0) return [];
	let [{ value: i }] = oe(n, 1);
	if (typeof i != "string") throw new TypeError("String function cannot be called with non-string");
	let s = t(i, ...r.map((a) => a?.eval(e, n)[0]?.value));
	return s === void 0 ? [] : Array.isArray(s) ? s.map(R) : [R(s)];
}
function ie(t, e, n, ...r) {
	if (n.length === 0) return [];
	let [{ value: i }] = oe(n, 1), o = L(i), s = o ? i.value : i;
	if (typeof s != "number") throw new TypeError("Math function cannot be called with non-number");
	let a = t(s, ...r.map((l) => l.eval(e, n)[0]?.value));
	return [{
		type: o ? p.Quantity : n[0].type,
		value: o ? {
			...i,
			value: a
		} : a
	}];
}
function oe(t, e) {
	if (t.length !== e) throw new Error(`Expected ${e} arguments`);
	for (let n of t) if (n == null) throw new Error("Expected non-null argument");
	return t;
}
function Be(t) {
	let e = t;
	for (; e.parent?.variables.$this;) e = e.parent;
	return [e.variables.$this];
}
var J = class {
	constructor(e) {
		c(this, "value");
		this.value = e;
	}
	eval() {
		return [this.value];
	}
	toString() {
		let e = this.value.value;
		return typeof e == "string" ? `'${e}'` : e.toString();
	}
};
var B = class {
	constructor(e) {
		c(this, "name");
		this.name = e;
	}
	eval(e, n) {
		if (this.name === "$this") return n;
		let r = this.getVariable(e);
		if (r) return [r];
		if (this.name.startsWith("%")) throw new Error(`Undefined variable ${this.name}`);
		return n.flatMap((i) => this.evalValue(i)).filter((i) => i?.value !== void 0);
	}
	getVariable(e) {
		let n = e.variables[this.name];
		if (n !== void 0) return n;
		if (e.parent) return this.getVariable(e.parent);
	}
	evalValue(e) {
		let n = e.value;
		if (!(!n || typeof n != "object")) return V(n, this.name) ? ("path" in e || (e.path = n.resourceType), e) : cr(e, this.name);
	}
	toString() {
		return this.name;
	}
};
var en = class {
	eval() {
		return [];
	}
	toString() {
		return "{}";
	}
};
var tn = class extends _t {
	constructor(n, r, i) {
		super(n, r);
		c(this, "impl");
		this.impl = i;
	}
	eval(n, r) {
		return this.impl(this.child.eval(n, r));
	}
	toString() {
		return this.operator + this.child.toString();
	}
};
var Ae = class extends I {
	constructor(e, n) {
		super("as", e, n);
	}
	eval(e, n) {
		return U.as(e, this.left.eval(e, n), this.right);
	}
};
var q = class extends I {
	constructor(n, r, i, o) {
		super(n, r, i);
		c(this, "impl");
		this.impl = o;
	}
	eval(n, r) {
		let i = this.left.eval(n, r), o = this.right.eval(n, r);
		if (i.length < 1 || o.length < 1) return [];
		let s = F(i)?.value, a = F(o)?.value, u = L(s) ? s.value : s, d = L(a) ? a.value : a, l = this.impl(u, d);
		return typeof l == "boolean" ? y(l) : L(s) ? [{
			type: p.Quantity,
			value: {
				...s,
				value: l
			}
		}] : [R(l)];
	}
};
var Oo = Object.freeze({
	type: "string",
	value: ""
});
var nn = class extends I {
	constructor(e, n) {
		super("&", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n)) ?? Oo, i = F(this.right.eval(e, n)) ?? Oo;
		if (typeof r.value != "string") throw new Error(`Expected string operand for &, but got ${r.type}`);
		if (typeof i.value != "string") throw new Error(`Expected string operand for &, but got ${i.type}`);
		return [{
			type: p.string,
			value: r.value + i.value
		}];
	}
};
var rn = class extends I {
	constructor(e, n) {
		super("contains", e, n);
	}
	eval(e, n) {
		let r = this.left.eval(e, n), i = this.right.eval(e, n);
		return y(r.some((o) => o.value === i[0].value));
	}
};
var on = class extends I {
	constructor(e, n) {
		super("in", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n)), i = this.right.eval(e, n);
		return r ? y(i.some((o) => gt(r, o)[0].value)) : [];
	}
};
var se = class extends I {
	constructor(e, n) {
		super(".", e, n);
	}
	eval(e, n) {
		return this.right.eval(e, this.left.eval(e, n));
	}
	toString() {
		return `${this.left.toString()}.${this.right.toString()}`;
	}
};
var qe = class extends I {
	constructor(e, n) {
		super("|", e, n);
	}
	eval(e, n) {
		let r = this.left.eval(e, n), i = this.right.eval(e, n);
		return Gt([...r, ...i]);
	}
};
var sn = class extends I {
	constructor(e, n) {
		super("=", e, n);
	}
	eval(e, n) {
		return to(this.left.eval(e, n), this.right.eval(e, n));
	}
};
var an = class extends I {
	constructor(e, n) {
		super("!=", e, n);
	}
	eval(e, n) {
		return no(this.left.eval(e, n), this.right.eval(e, n));
	}
};
var cn = class extends I {
	constructor(e, n) {
		super("~", e, n);
	}
	eval(e, n) {
		return hr(this.left.eval(e, n), this.right.eval(e, n));
	}
};
var un = class extends I {
	constructor(e, n) {
		super("!~", e, n);
	}
	eval(e, n) {
		return eo(hr(this.left.eval(e, n), this.right.eval(e, n)));
	}
};
var We = class extends I {
	constructor(e, n) {
		super("is", e, n);
	}
	eval(e, n) {
		let r = this.left.eval(e, n);
		if (r.length !== 1) return [];
		let i = St(this.right);
		return i ? y(tt(r[0], i)) : [];
	}
};
var dn = class extends I {
	constructor(e, n) {
		super("and", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n), "boolean"), i = F(this.right.eval(e, n), "boolean");
		return r?.value === !0 && i?.value === !0 ? y(!0) : r?.value === !1 || i?.value === !1 ? y(!1) : [];
	}
};
var ln = class extends I {
	constructor(e, n) {
		super("or", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n), "boolean"), i = F(this.right.eval(e, n), "boolean");
		return r?.value === !1 && i?.value === !1 ? y(!1) : r?.value || i?.value ? y(!0) : [];
	}
};
var pn = class extends I {
	constructor(e, n) {
		super("xor", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n), "boolean"), i = F(this.right.eval(e, n), "boolean");
		return !r || !i ? [] : y(r.value !== i.value);
	}
};
var fn = class extends I {
	constructor(e, n) {
		super("implies", e, n);
	}
	eval(e, n) {
		let r = F(this.left.eval(e, n), "boolean"), i = F(this.right.eval(e, n), "boolean");
		return i?.value === !0 || r?.value === !1 ? y(!0) : !r || !i ? [] : y(!1);
	}
};
var ae = class {
	constructor(e, n) {
		c(this, "name");
		c(this, "args");
		this.name = e, this.args = n;
	}
	eval(e, n) {
		let r = U[this.name];
		if (!r) throw new Error("Unrecognized function: " + this.name);
		return r(e, n, ...this.args);
	}
	toString() {
		return `${this.name}(${this.args.map((e) => e.toString()).join(", ")})`;
	}
};
var $e = class {
	constructor(e, n) {
		c(this, "left");
		c(this, "expr");
		this.left = e, this.expr = n;
	}
	eval(e, n) {
		let r = this.expr.eval(e, n);
		if (r.length !== 1) return [];
		let i = r[0].value;
		if (typeof i != "number") throw new Error("Invalid indexer expression: should return integer}");
		let o = this.left.eval(e, n);
		return i in o ? [o[i]] : [];
	}
	toString() {
		return `${this.left.toString()}[${this.expr.toString()}]`;
	}
};
var bt = [
	"!=",
	"!~",
	"<=",
	">=",
	"{}",
	"->"
];
var T = {
	FunctionCall: 0,
	Dot: 1,
	Indexer: 2,
	UnaryAdd: 3,
	UnarySubtract: 3,
	Multiply: 4,
	Divide: 4,
	IntegerDivide: 4,
	Modulo: 4,
	Add: 5,
	Subtract: 5,
	Ampersand: 5,
	Is: 6,
	As: 6,
	Union: 7,
	GreaterThan: 8,
	GreaterThanOrEquals: 8,
	LessThan: 8,
	LessThanOrEquals: 8,
	Equals: 9,
	Equivalent: 9,
	NotEquals: 9,
	NotEquivalent: 9,
	In: 10,
	Contains: 10,
	And: 11,
	Xor: 12,
	Or: 12,
	Implies: 13,
	Arrow: 100,
	Semicolon: 200
};
var hc = { parse(t) {
	let e = t.consumeAndParse();
	if (!t.match(")")) throw new Error("Parse error: expected `)` got `" + t.peek()?.value + "`");
	return e;
} };
var gc = {
	parse(t, e) {
		let n = t.consumeAndParse();
		if (!t.match("]")) throw new Error("Parse error: expected `]`");
		return new $e(e, n);
	},
	precedence: T.Indexer
};
var yc = {
	parse(t, e) {
		if (!(e instanceof B)) throw new Error("Unexpected parentheses");
		let n = [];
		for (; !t.match(")");) n.push(t.consumeAndParse()), t.match(",");
		return new ae(e.name, n);
	},
	precedence: T.FunctionCall
};
function xc(t) {
	let e = t.split(" "), n = Number.parseFloat(e[0]), r = e[1];
	return r?.startsWith("'") && r.endsWith("'") ? r = r.substring(1, r.length - 1) : r = "{" + r + "}", {
		value: n,
		unit: r
	};
}
function Et() {
	return new Nt().registerPrefix("String", { parse: (t, e) => new J({
		type: p.string,
		value: e.value
	}) }).registerPrefix("DateTime", { parse: (t, e) => new J({
		type: p.dateTime,
		value: it(e.value)
	}) }).registerPrefix("Quantity", { parse: (t, e) => new J({
		type: p.Quantity,
		value: xc(e.value)
	}) }).registerPrefix("Number", { parse: (t, e) => new J({
		type: e.value.includes(".") ? p.decimal : p.integer,
		value: Number.parseFloat(e.value)
	}) }).registerPrefix("true", { parse: () => new J({
		type: p.boolean,
		value: !0
	}) }).registerPrefix("false", { parse: () => new J({
		type: p.boolean,
		value: !1
	}) }).registerPrefix("Symbol", { parse: (t, e) => new B(e.value) }).registerPrefix("{}", { parse: () => new en() }).registerPrefix("(", hc).registerInfix("[", gc).registerInfix("(", yc).prefix("+", T.UnaryAdd, (t, e) => new tn("+", e, (n) => n)).prefix("-", T.UnarySubtract, (t, e) => new q("-", e, e, (n, r) => -r)).infixLeft(".", T.Dot, (t, e, n) => new se(t, n)).infixLeft("/", T.Divide, (t, e, n) => new q("/", t, n, (r, i) => r / i)).infixLeft("*", T.Multiply, (t, e, n) => new q("*", t, n, (r, i) => r * i)).infixLeft("+", T.Add, (t, e, n) => new q("+", t, n, (r, i) => r + i)).infixLeft("-", T.Subtract, (t, e, n) => new q("-", t, n, (r, i) => r - i)).infixLeft("|", T.Union, (t, e, n) => new qe(t, n)).infixLeft("=", T.Equals, (t, e, n) => new sn(t, n)).infixLeft("!=", T.NotEquals, (t, e, n) => new an(t, n)).infixLeft("~", T.Equivalent, (t, e, n) => new cn(t, n)).infixLeft("!~", T.NotEquivalent, (t, e, n) => new un(t, n)).infixLeft("<", T.LessThan, (t, e, n) => new q("<", t, n, (r, i) => r < i)).infixLeft("<=", T.LessThanOrEquals, (t, e, n) => new q("<=", t, n, (r, i) => r <= i)).infixLeft(">", T.GreaterThan, (t, e, n) => new q(">", t, n, (r, i) => r > i)).infixLeft(">=", T.GreaterThanOrEquals, (t, e, n) => new q(">=", t, n, (r, i) => r >= i)).infixLeft("&", T.Ampersand, (t, e, n) => new nn(t, n)).infixLeft("and", T.And, (t, e, n) => new dn(t, n)).infixLeft("as", T.As, (t, e, n) => new Ae(t, n)).infixLeft("contains", T.Contains, (t, e, n) => new rn(t, n)).infixLeft("div", T.Divide, (t, e, n) => new q("div", t, n, (r, i) => Math.trunc(r / i))).infixLeft("in", T.In, (t, e, n) => new on(t, n)).infixLeft("is", T.Is, (t, e, n) => new We(t, n)).infixLeft("mod", T.Modulo, (t, e, n) => new q("mod", t, n, (r, i) => r % i)).infixLeft("or", T.Or, (t, e, n) => new ln(t, n)).infixLeft("xor", T.Xor, (t, e, n) => new pn(t, n)).infixLeft("implies", T.Implies, (t, e, n) => new fn(t, n));
}
Et();
var g = {
	EQUALS: "eq",
	NOT_EQUALS: "ne",
	GREATER_THAN: "gt",
	LESS_THAN: "lt",
	GREATER_THAN_OR_EQUALS: "ge",
	LESS_THAN_OR_EQUALS: "le",
	STARTS_AFTER: "sa",
	ENDS_BEFORE: "eb",
	APPROXIMATELY: "ap",
	CONTAINS: "contains",
	STARTS_WITH: "sw",
	EXACT: "exact",
	TEXT: "text",
	NOT: "not",
	ABOVE: "above",
	BELOW: "below",
	IN: "in",
	NOT_IN: "not-in",
	OF_TYPE: "of-type",
	MISSING: "missing",
	PRESENT: "present",
	IDENTIFIER: "identifier",
	ITERATE: "iterate"
};
g.CONTAINS, g.EXACT, g.ABOVE, g.BELOW, g.TEXT, g.NOT, g.IN, g.NOT_IN, g.OF_TYPE, g.MISSING, g.IDENTIFIER, g.ITERATE;
g.EQUALS, g.NOT_EQUALS, g.LESS_THAN, g.LESS_THAN_OR_EQUALS, g.GREATER_THAN, g.GREATER_THAN_OR_EQUALS, g.STARTS_AFTER, g.ENDS_BEFORE, g.APPROXIMATELY, g.STARTS_WITH;
g.MISSING, g.PRESENT;
new te(1e3);
var He = {
	READ: "read",
	VREAD: "vread",
	UPDATE: "update",
	DELETE: "delete",
	HISTORY: "history",
	CREATE: "create",
	SEARCH: "search"
};
He.READ, He.VREAD, He.HISTORY, He.SEARCH;
function ee() {
	return typeof window < "u";
}
function kr() {
	return typeof Buffer < "u" ? Buffer : void 0;
}
var ge = {
	assign(t) {
		ee() && globalThis.location.assign(t);
	},
	reload() {
		ee() && globalThis.location.reload();
	},
	getSearch() {
		return ee() ? globalThis.location.search : "";
	},
	getPathname() {
		return ee() ? globalThis.location.pathname : "";
	},
	getLocation() {
		return ee() ? globalThis.location.toString() : "";
	},
	getOrigin() {
		return ee() ? globalThis.location.protocol + "//" + globalThis.location.host + "/" : "";
	}
};
function Zc(t) {
	if (ee()) {
		let n = window.atob(t), r = Uint8Array.from(n, (i) => i.codePointAt(0));
		return new window.TextDecoder().decode(r);
	}
	let e = kr();
	if (e) return e.from(t, "base64").toString("utf-8");
	throw new Error("Unable to decode base64");
}
function yn(t) {
	if (ee()) {
		let n = new window.TextEncoder().encode(t), r = String.fromCodePoint.apply(null, n);
		return window.btoa(r);
	}
	let e = kr();
	if (e) return e.from(t, "utf8").toString("base64");
	throw new Error("Unable to encode base64");
}
function xn(t) {
	t = t.padEnd(t.length + (4 - t.length % 4) % 4, "=");
	return Zc(t.replaceAll("-", "+").replaceAll("_", "/"));
}
function Mr() {
	let t = /* @__PURE__ */ new Uint32Array(28);
	return crypto.getRandomValues(t), lo(t.buffer);
}
async function $o(t) {
	return crypto.subtle.digest("SHA-256", new TextEncoder().encode(t));
}
function ce() {
	return typeof crypto < "u" && "randomUUID" in crypto ? crypto.randomUUID() : "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replaceAll(/[xy]/g, (t) => {
		let e = Math.trunc(Math.random() * 16);
		return (t === "x" ? e : e & 3 | 8).toString(16);
	});
}
var _ = {
	CSS: "text/css",
	DICOM: "application/dicom",
	DICOM_JSON: "application/dicom+json",
	EVENT_STREAM: "text/event-stream",
	FAVICON: "image/vnd.microsoft.icon",
	FHIR_JSON: "application/fhir+json",
	FORM_URL_ENCODED: "application/x-www-form-urlencoded",
	HL7_V2: "x-application/hl7-v2+er7",
	HTML: "text/html",
	JAVASCRIPT: "text/javascript",
	JOSE: "application/jose",
	JSON: "application/json",
	JSON_PATCH: "application/json-patch+json",
	JWT: "application/jwt",
	LINKSET_JSON: "application/linkset+json",
	MULTIPART_FORM_DATA: "multipart/form-data",
	PNG: "image/png",
	SCIM_JSON: "application/scim+json",
	SVG: "image/svg+xml",
	TEXT: "text/plain",
	TYPESCRIPT: "text/typescript",
	PING: "x-application/ping",
	XML: "text/xml",
	CDA_XML: "application/cda+xml",
	OCTET_STREAM: "application/octet-stream"
};
var Dr = class {
	constructor() {
		c(this, "listeners");
		this.listeners = {};
	}
	addEventListener(e, n) {
		this.listeners[e] || (this.listeners[e] = []), this.listeners[e].push(n);
	}
	removeEventListener(e, n) {
		let r = this.listeners[e];
		if (r) {
			for (let i = 0; i < r.length; i++) if (r[i] === n) {
				r.splice(i, 1);
				return;
			}
		}
	}
	dispatchEvent(e) {
		let n = this.listeners[e.type];
		for (let r of n ?? v) try {
			r.call(this, e);
		} catch (i) {
			console.error(`Unhandled error in "${e.type}" event listener`, i);
		}
		return !e.defaultPrevented;
	}
	removeAllListeners() {
		this.listeners = {};
	}
	listenerCount(e) {
		return this.listeners[e]?.length ?? 0;
	}
};
var ue = class {
	constructor() {
		c(this, "emitter", new Dr());
	}
	dispatchEvent(e) {
		this.emitter.dispatchEvent(e);
	}
	addEventListener(e, n) {
		this.emitter.addEventListener(e, n);
	}
	removeEventListener(e, n) {
		this.emitter.removeEventListener(e, n);
	}
	removeAllListeners() {
		this.emitter.removeAllListeners();
	}
	listenerCount(e) {
		return this.emitter.listenerCount(e);
	}
};
var K = {
	Event: typeof globalThis.Event < "u" ? globalThis.Event : void 0,
	ErrorEvent: void 0,
	CloseEvent: void 0
};
var Ho = !1;
function du() {
	if (typeof globalThis.Event > "u") throw new Error("Unable to lazy init events for ReconnectingWebSocket. globalThis.Event is not defined yet");
	K.Event = globalThis.Event, K.ErrorEvent = class extends Event {
		constructor(n, r) {
			super("error", r);
			c(this, "message");
			c(this, "error");
			this.message = n.message, this.error = n;
		}
	}, K.CloseEvent = class extends Event {
		constructor(n = 1e3, r = "", i) {
			super("close", i);
			c(this, "code");
			c(this, "reason");
			c(this, "wasClean", !0);
			this.code = n, this.reason = r;
		}
	};
}
function lu(t, e) {
	if (!t) throw new Error(e);
}
function pu() {}
function vn(t) {
	if (t instanceof K.CloseEvent) {
		let e = t;
		return new K.CloseEvent(e.code, e.reason, void 0);
	}
	if (t instanceof K.ErrorEvent) {
		let e = t;
		return new K.ErrorEvent(e.error ?? new Error(e.message), void 0);
	}
	return new t.constructor(t.type, t);
}
function fu(t, e) {
	let n = t;
	return n.error instanceof Error ? new K.ErrorEvent(n.error, e) : new K.ErrorEvent(new Error(n.message || "WebSocket error"), e);
}
var Ge = {
	maxReconnectionDelay: 1e4,
	minReconnectionDelay: 1e3 + Math.random() * 4e3,
	minUptime: 5e3,
	reconnectionDelayGrowFactor: 1.3,
	connectionTimeout: 4e3,
	maxRetries: 1 / 0,
	maxEnqueuedMessages: 1 / 0,
	startClosed: !1,
	debug: !1
};
var Go = !1;
var st = class t extends ue {
	constructor(n, r, i = {}) {
		Ho || (du(), Ho = !0);
		super();
		c(this, "_ws");
		c(this, "_retryCount", -1);
		c(this, "_uptimeTimeout");
		c(this, "_connectTimeout");
		c(this, "_shouldReconnect", !0);
		c(this, "_connectLock", !1);
		c(this, "_binaryType");
		c(this, "_closeCalled", !1);
		c(this, "_messageQueue", []);
		c(this, "_debugLogger", console.log.bind(console));
		c(this, "_url");
		c(this, "_protocols");
		c(this, "_options");
		c(this, "onclose", null);
		c(this, "onerror", null);
		c(this, "onmessage", null);
		c(this, "onopen", null);
		c(this, "_handleOpen", (n) => {
			this._debug("open event");
			let { minUptime: r = Ge.minUptime } = this._options;
			clearTimeout(this._connectTimeout), this._uptimeTimeout = setTimeout(() => this._acceptOpen(), r), lu(this._ws, "WebSocket is not defined"), this._ws.binaryType = this._binaryType, this._messageQueue.forEach((i) => this._ws?.send(i)), this._messageQueue = [], this.onopen && this.onopen(n), this.dispatchEvent(vn(n));
		});
		c(this, "_handleMessage", (n) => {
			this._debug("message event"), this.onmessage && this.onmessage(n), this.dispatchEvent(vn(n));
		});
		c(this, "_handleError", (n) => {
			let r = fu(n, this);
			this._debug("error event", r.message), this._disconnect(void 0, r.message === "TIMEOUT" ? "timeout" : void 0), this.onerror && this.onerror(r), this._debug("exec error listeners"), this.dispatchEvent(vn(r)), this._connect();
		});
		c(this, "_handleClose", (n) => {
			this._debug("close event"), this._clearTimeouts(), this._shouldReconnect && this._connect(), this.onclose && this.onclose(n), this.dispatchEvent(vn(n));
		});
		this._url = n, this._protocols = r, this._options = i, this._options.startClosed && (this._shouldReconnect = !1), this._options.binaryType ? this._binaryType = this._options.binaryType : this._binaryType = "blob", this._options.debugLogger && (this._debugLogger = this._options.debugLogger), this._connect();
	}
	static get CONNECTING() {
		return 0;
	}
	static get OPEN() {
		return 1;
	}
	static get CLOSING() {
		return 2;
	}
	static get CLOSED() {
		return 3;
	}
	get CONNECTING() {
		return t.CONNECTING;
	}
	get OPEN() {
		return t.OPEN;
	}
	get CLOSING() {
		return t.CLOSING;
	}
	get CLOSED() {
		return t.CLOSED;
	}
	get binaryType() {
		return this._ws ? this._ws.binaryType : this._binaryType;
	}
	set binaryType(n) {
		this._binaryType = n, this._ws && (this._ws.binaryType = n);
	}
	get retryCount() {
		return Math.max(this._retryCount, 0);
	}
	get bufferedAmount() {
		return this._messageQueue.reduce((r, i) => (typeof i == "string" ? r += i.length : i instanceof Blob ? r += i.size : r += i.byteLength, r), 0) + (this._ws?.bufferedAmount ?? 0);
	}
	get extensions() {
		return this._ws?.extensions ?? "";
	}
	get protocol() {
		return this._ws?.protocol ?? "";
	}
	get readyState() {
		return this._ws ? this._ws.readyState : this._options.startClosed ? t.CLOSED : t.CONNECTING;
	}
	get url() {
		return this._ws ? this._ws.url : "";
	}
	get shouldReconnect() {
		return this._shouldReconnect;
	}
	close(n = 1e3, r) {
		if (this._closeCalled = !0, this._shouldReconnect = !1, this._clearTimeouts(), !this._ws) {
			this._debug("close enqueued: no ws instance");
			return;
		}
		if (this._ws.readyState === this.CLOSED) {
			this._debug("close: already closed");
			return;
		}
		this._ws.close(n, r);
	}
	reconnect(n, r) {
		this._shouldReconnect = !0, this._closeCalled = !1, this._retryCount = -1, !this._ws || this._ws.readyState === this.CLOSED ? this._connect() : (this._disconnect(n, r), this._connect());
	}
	send(n) {
		if (this._ws?.readyState === this.OPEN) this._debug("send", n), this._ws.send(n);
		else {
			let { maxEnqueuedMessages: r = Ge.maxEnqueuedMessages } = this._options;
			this._messageQueue.length < r && (this._debug("enqueue", n), this._messageQueue.push(n));
		}
	}
	_debug(...n) {
		this._options.debug && this._debugLogger("RWS>", ...n);
	}
	_getNextDelay() {
		let { reconnectionDelayGrowFactor: n = Ge.reconnectionDelayGrowFactor, minReconnectionDelay: r = Ge.minReconnectionDelay, maxReconnectionDelay: i = Ge.maxReconnectionDelay } = this._options, o = 0;
		return this._retryCount > 0 && (o = r * Math.pow(n, this._retryCount - 1), o > i && (o = i)), this._debug("next delay", o), o;
	}
	_wait() {
		return new Promise((n) => {
			setTimeout(n, this._getNextDelay());
		});
	}
	_connect() {
		if (this._connectLock || !this._shouldReconnect) return;
		this._connectLock = !0;
		let { maxRetries: n = Ge.maxRetries, connectionTimeout: r = Ge.connectionTimeout } = this._options;
		if (this._retryCount >= n) {
			this._connectLock = !1, this._debug("max retries reached", this._retryCount, ">=", n);
			return;
		}
		this._retryCount++, this._debug("connect", this._retryCount), this._removeListeners(), this._wait().then(() => {
			if (this._closeCalled) {
				this._connectLock = !1;
				return;
			}
			!this._options.WebSocket && typeof WebSocket > "u" && !Go && (console.error("‼️ No WebSocket implementation available. You should define options.WebSocket."), Go = !0);
			let i = this._options.WebSocket || WebSocket;
			this._debug("connect", {
				url: this._url,
				protocols: this._protocols
			}), this._ws = this._protocols ? new i(this._url, this._protocols) : new i(this._url), this._ws.binaryType = this._binaryType, this._connectLock = !1, this._addListeners(), this._connectTimeout = setTimeout(() => this._handleTimeout(), r);
		}).catch((i) => {
			this._connectLock = !1, this._handleError(new K.ErrorEvent(Error(i.message), this));
		});
	}
	_handleTimeout() {
		this._debug("timeout event"), this._handleError(new K.ErrorEvent(Error("TIMEOUT"), this));
	}
	_disconnect(n = 1e3, r) {
		if (this._clearTimeouts(), !this._ws) return;
		let i = this._ws;
		this._removeListeners(), i.addEventListener("error", pu);
		try {
			i.close(n, r), this._handleClose(new K.CloseEvent(n, r, this));
		} catch {}
	}
	_acceptOpen() {
		this._debug("accept open"), this._retryCount = 0;
	}
	_removeListeners() {
		this._ws && (this._debug("removeListeners"), this._ws.removeEventListener("open", this._handleOpen), this._ws.removeEventListener("close", this._handleClose), this._ws.removeEventListener("message", this._handleMessage), this._ws.removeEventListener("error", this._handleError));
	}
	_addListeners() {
		this._ws && (this._debug("addListeners"), this._ws.addEventListener("open", this._handleOpen), this._ws.addEventListener("close", this._handleClose), this._ws.addEventListener("message", this._handleMessage), this._ws.addEventListener("error", this._handleError));
	}
	_clearTimeouts() {
		clearTimeout(this._connectTimeout), clearTimeout(this._uptimeTimeout);
	}
};
var Vr = {
	"Patient-open": "Patient-open",
	"Patient-close": "Patient-close",
	"ImagingStudy-open": "ImagingStudy-open",
	"ImagingStudy-close": "ImagingStudy-close",
	"Encounter-open": "Encounter-open",
	"Encounter-close": "Encounter-close",
	"DiagnosticReport-open": "DiagnosticReport-open",
	"DiagnosticReport-close": "DiagnosticReport-close",
	"DiagnosticReport-select": "DiagnosticReport-select",
	"DiagnosticReport-update": "DiagnosticReport-update",
	syncerror: "syncerror"
};
var mu = [
	"Patient",
	"Encounter",
	"ImagingStudy",
	"DiagnosticReport",
	"OperationOutcome",
	"Bundle"
];
var _r = ["DiagnosticReport-update"];
function Qo(t) {
	return _r.includes(t);
}
function zo(t) {
	if (_r.includes(t)) throw new m(S(`'context.version' is required for '${t}'.`));
}
var hu = {
	"Patient-open": {
		patient: { resourceType: "Patient" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		}
	},
	"Patient-close": {
		patient: { resourceType: "Patient" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		}
	},
	"ImagingStudy-open": {
		study: { resourceType: "ImagingStudy" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		},
		patient: {
			resourceType: "Patient",
			optional: !0
		}
	},
	"ImagingStudy-close": {
		study: { resourceType: "ImagingStudy" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		},
		patient: {
			resourceType: "Patient",
			optional: !0
		}
	},
	"Encounter-open": {
		encounter: { resourceType: "Encounter" },
		patient: { resourceType: "Patient" }
	},
	"Encounter-close": {
		encounter: { resourceType: "Encounter" },
		patient: { resourceType: "Patient" }
	},
	"DiagnosticReport-open": {
		report: { resourceType: "DiagnosticReport" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		},
		study: {
			resourceType: "ImagingStudy",
			optional: !0,
			manyAllowed: !0
		},
		patient: { resourceType: "Patient" }
	},
	"DiagnosticReport-close": {
		report: { resourceType: "DiagnosticReport" },
		encounter: {
			resourceType: "Encounter",
			optional: !0
		},
		study: {
			resourceType: "ImagingStudy",
			optional: !0,
			manyAllowed: !0
		},
		patient: { resourceType: "Patient" }
	},
	"DiagnosticReport-select": {
		report: {
			resourceType: "DiagnosticReport",
			reference: !0
		},
		patient: {
			resourceType: "Patient",
			optional: !0,
			reference: !0
		},
		select: {
			resourceType: "*",
			reference: !0,
			manyAllowed: !0
		}
	},
	"DiagnosticReport-update": {
		report: {
			resourceType: "DiagnosticReport",
			reference: !0
		},
		patient: {
			resourceType: "Patient",
			optional: !0,
			reference: !0
		},
		updates: { resourceType: "Bundle" }
	},
	syncerror: { operationoutcome: { resourceType: "OperationOutcome" } }
};
function gu(t) {
	return mu.includes(t);
}
function Jo(t) {
	return !!t.endpoint;
}
function Nr(t) {
	if (!Tn(t)) throw new m(S("subscriptionRequest must be an object conforming to SubscriptionRequest type."));
	let { channelType: e, mode: n, topic: r, events: i } = t, o = {
		"hub.channel.type": e,
		"hub.mode": n,
		"hub.topic": r
	};
	return n === "subscribe" && (o["hub.events"] = i.join(",")), Jo(t) && (o["hub.channel.endpoint"] = t.endpoint), new URLSearchParams(o).toString();
}
function Tn(t) {
	if (typeof t != "object") return !1;
	let { channelType: e, mode: n, topic: r, events: i } = t;
	if (!(e && n && r && i) || typeof r != "string" || typeof i != "object" || !Array.isArray(i) || i.length < 1 || e !== "websocket" || n !== "subscribe" && n !== "unsubscribe") return !1;
	for (let o of i) if (!Vr[o]) return !1;
	return !(Jo(t) && !(typeof t.endpoint == "string" && t.endpoint.startsWith("ws")));
}
function yu(t, e, n, r) {
	if (typeof e != "object") throw new m(S(`context[${n}] is invalid. Context must contain a single valid FHIR resource! Resource is not an object.`));
	if (!(e.id && typeof e.id == "string")) throw new m(S(`context[${n}] is invalid. Resource must contain a valid string ID.`));
	if (!e.resourceType) throw new m(S(`context[${n}] is invalid. Resource must contain a resource type. No resource type found.`));
	let i = r.resourceType;
	if (i !== "*") {
		if (!gu(e.resourceType)) throw new m(S(`context[${n}] is invalid. Resource must contain a valid FHIRcast resource type. Resource type is not a known resource type.`));
		if (i && e.resourceType !== i) throw new m(S(`context[${n}] is invalid. context[${n}] for the '${t}' event should contain resource of type ${i}.`));
	}
}
function xu(t, e, n, r, i) {
	if (i.set(e.key, (i.get(e.key) ?? 0) + 1), r.reference) {
		if (!W(e.reference)) throw new m(S(`context[${n}] is invalid. Expected key '${e.key}' to be a reference.`));
	} else yu(t, e.resource, n, r);
}
function vu(t, e) {
	let n = /* @__PURE__ */ new Map(), r = hu[t];
	for (let i = 0; i < e.length; i++) {
		let o = e[i].key;
		if (!r[o]) throw new m(S(`Key '${o}' not found for event '${t}'. Make sure to add only valid keys.`));
		xu(t, e[i], i, r[o], n);
	}
	for (let [i, o] of Object.entries(r)) {
		if (!(o.optional || n.has(i))) throw new m(S(`Missing required key '${i}' on context for '${t}' event.`));
		if (!o.manyAllowed && (n.get(i) ?? 0) > 1) throw new m(S(`${n.get(i)} context entries with key '${i}' found for the '${t}' event when schema only allows for 1.`));
	}
}
function Lr(t, e, n, r) {
	if (!(t && typeof t == "string")) throw new m(S("Must provide a topic."));
	if (!Vr[e]) throw new m(S(`Must provide a valid FHIRcast event name. Supported events: ${Object.keys(Vr).join(", ")}`));
	if (typeof n != "object") throw new m(S("context must be a context object or array of context objects."));
	if (_r.includes(e) && !r) throw new m(S(`The '${e}' event must contain a 'context.versionId'.`));
	let i = Array.isArray(n) ? n : [n];
	return vu(e, i), {
		timestamp: (/* @__PURE__ */ new Date()).toISOString(),
		id: ce(),
		event: {
			"hub.topic": t,
			"hub.event": e,
			context: i,
			...r ? { "context.versionId": r } : {}
		}
	};
}
var Sn = class extends ue {
	constructor(n, r) {
		super();
		c(this, "subRequest");
		c(this, "websocket");
		if (this.subRequest = n, !n.endpoint) throw new m(S("Subscription request should contain an endpoint."));
		if (!Tn(n)) throw new m(S("Subscription request failed validation."));
		let { ReconnectingWebSocket: i = st, ...o } = r ?? {}, s = new i(n.endpoint, void 0, o);
		s.addEventListener("open", () => {
			this.dispatchEvent({ type: "connect" });
		}), s.addEventListener("message", (a) => {
			let u = JSON.parse(a.data);
			if (!u.event) {
				u["hub.mode"] === "denied" && this.disconnect();
				return;
			}
			let d = u;
			d.event["hub.event"] !== "heartbeat" && (this.dispatchEvent({
				type: "message",
				payload: d
			}), s.send(JSON.stringify({
				id: u?.id,
				timestamp: (/* @__PURE__ */ new Date()).toISOString()
			})));
		}), s.addEventListener("close", () => {
			this.dispatchEvent({ type: "disconnect" });
		}), this.websocket = s;
	}
	disconnect() {
		this.websocket.close();
	}
};
function Su(t) {
	return JSON.parse(xn(t));
}
function Ko(t) {
	return t.split(".").length === 3;
}
function bn(t) {
	let [e, n, r] = t.split(".");
	return Su(n);
}
function Yo(t) {
	try {
		return typeof bn(t).login_id == "string";
	} catch {
		return !1;
	}
}
function Xo(t) {
	try {
		let n = bn(t).exp;
		return typeof n == "number" ? n * 1e3 : void 0;
	} catch {
		return;
	}
}
var En = class {
	constructor(e) {
		c(this, "medplum");
		this.medplum = e;
	}
	async get(e) {
		return this.medplum.get(`keyvalue/v1/${e}`);
	}
	async set(e, n) {
		await this.medplum.put(`keyvalue/v1/${e}`, n, _.TEXT);
	}
	async delete(e) {
		await this.medplum.delete(`keyvalue/v1/${e}`);
	}
};
var Zo = Symbol.toStringTag;
var j = class {
	constructor(e) {
		c(this, Zo, "ReadablePromise");
		c(this, "suspender");
		c(this, "status", "pending");
		c(this, "response");
		c(this, "error");
		this.suspender = e.then((n) => (this.status = "success", this.response = n, n), (n) => {
			throw this.status = "error", this.error = n, n;
		});
	}
	isPending() {
		return this.status === "pending";
	}
	isOk() {
		return this.status === "success";
	}
	read() {
		switch (this.status) {
			case "pending": throw this.suspender;
			case "error": throw this.error;
			default: return this.response;
		}
	}
	then(e, n) {
		return this.suspender.then(e, n);
	}
	catch(e) {
		return this.suspender.catch(e);
	}
	finally(e) {
		return this.suspender.finally(e);
	}
};
var Pt = class {
	constructor(e, n = "") {
		c(this, "storage");
		c(this, "prefix", "");
		this.storage = e ?? globalThis.localStorage ?? new Fr(), this.prefix = n;
	}
	makeKey(e) {
		return this.prefix + e;
	}
	clear() {
		if (this.storage === globalThis.localStorage && this.prefix) for (let e = this.storage.length - 1; e >= 0; e--) {
			let n = this.storage.key(e);
			n?.startsWith(this.prefix) && this.storage.removeItem(n);
		}
		else this.storage.clear();
	}
	getString(e) {
		return this.storage.getItem(this.makeKey(e)) ?? void 0;
	}
	setString(e, n) {
		n ? this.storage.setItem(this.makeKey(e), n) : this.storage.removeItem(this.makeKey(e));
	}
	getObject(e) {
		let n = this.getString(e);
		return n ? JSON.parse(n) : void 0;
	}
	setObject(e, n) {
		this.setString(e, n ? Yt(n) : void 0);
	}
};
var Fr = class {
	constructor() {
		c(this, "data");
		this.data = /* @__PURE__ */ new Map();
	}
	get length() {
		return this.data.size;
	}
	clear() {
		this.data.clear();
	}
	getItem(e) {
		return this.data.get(e) ?? null;
	}
	setItem(e, n) {
		n ? this.data.set(e, n) : this.data.delete(e);
	}
	removeItem(e) {
		this.data.delete(e);
	}
	key(e) {
		return Array.from(this.data.keys())[e];
	}
};
var Tu = [WebSocket.CLOSING, WebSocket.CLOSED];
var At = class extends ue {
	constructor(...n) {
		super();
		c(this, "criteria");
		this.criteria = new Set(n);
	}
	getCriteria() {
		return this.criteria;
	}
	_addCriteria(n) {
		this.criteria.add(n);
	}
	_removeCriteria(n) {
		this.criteria.delete(n);
	}
};
var Ur = class {
	constructor(e, n) {
		c(this, "criteria");
		c(this, "emitter");
		c(this, "refCount");
		c(this, "subscriptionProps");
		c(this, "subscriptionId");
		c(this, "token");
		c(this, "tokenExpiry");
		c(this, "state", "idle");
		c(this, "generation", 0);
		c(this, "lastUnrefTime");
		this.criteria = e, this.emitter = new At(e), this.refCount = 1, this.subscriptionProps = n ? { ...n } : void 0;
	}
	nextGeneration() {
		return ++this.generation;
	}
};
var Rn = class {
	constructor(e, n, r) {
		c(this, "medplum");
		c(this, "ws");
		c(this, "masterSubEmitter");
		c(this, "criteriaEntries");
		c(this, "criteriaEntriesBySubscriptionId");
		c(this, "wsClosed");
		c(this, "pingTimer");
		c(this, "tokenRefreshTimer");
		c(this, "pingIntervalMs");
		c(this, "waitingForPong", !1);
		c(this, "currentProfile");
		if (!(e instanceof Cn)) throw new m(S("First arg of constructor should be a `MedplumClient`"));
		let i;
		try {
			i = new URL(n).toString();
		} catch {
			throw new m(S("Not a valid URL"));
		}
		let o = r?.ReconnectingWebSocket ? new r.ReconnectingWebSocket(i, void 0, {
			debug: r?.debug,
			debugLogger: r?.debugLogger
		}) : new st(i, void 0, {
			debug: r?.debug,
			debugLogger: r?.debugLogger
		});
		this.medplum = e, this.ws = o, this.masterSubEmitter = new At(), this.criteriaEntries = /* @__PURE__ */ new Map(), this.criteriaEntriesBySubscriptionId = /* @__PURE__ */ new Map(), this.wsClosed = !1, this.pingIntervalMs = r?.pingIntervalMs ?? 5e3, this.currentProfile = e.getProfile(), this.setupListeners();
	}
	setupListeners() {
		let e = this.ws;
		e.addEventListener("message", (n) => {
			try {
				let r = JSON.parse(n.data);
				if (r.type === "pong") {
					this.waitingForPong = !1;
					return;
				}
				let i = r, o = i?.entry?.[0]?.resource;
				if (!o) {
					console.warn("Received WebSocket message without a SubscriptionStatus resource; ignoring", i);
					return;
				}
				if (o.type === "heartbeat") {
					this.masterSubEmitter?.dispatchEvent({
						type: "heartbeat",
						payload: i
					});
					return;
				}
				if (o.type === "handshake") {
					let a = Z(o.subscription), u = {
						type: "connect",
						payload: { subscriptionId: a }
					};
					this.masterSubEmitter?.dispatchEvent(u);
					let d = this.criteriaEntriesBySubscriptionId.get(a);
					if (!d) {
						console.warn("Received handshake for criteria the SubscriptionManager is not listening for yet");
						return;
					}
					(d.state === "connecting" || d.state === "refreshing") && (d.state = "active"), d.emitter.dispatchEvent({ ...u });
					return;
				}
				this.masterSubEmitter?.dispatchEvent({
					type: "message",
					payload: i
				});
				let s = this.criteriaEntriesBySubscriptionId.get(Z(o.subscription));
				if (!s) {
					console.warn("Received notification for criteria the SubscriptionManager is not listening for");
					return;
				}
				s.emitter.dispatchEvent({
					type: "message",
					payload: i
				});
			} catch (r) {
				console.error(r);
				let i = {
					type: "error",
					payload: r
				};
				this.masterSubEmitter?.dispatchEvent(i);
				for (let o of this.getAllCriteriaEmitters()) o.dispatchEvent({ ...i });
			}
		}), e.addEventListener("error", (n) => {
			let r = {
				type: "error",
				payload: new m({
					resourceType: "OperationOutcome",
					issue: [{
						severity: "error",
						code: "exception",
						details: { text: "WebSocket connection closed due to an error" },
						diagnostics: n.error ? _e(n.error) : n.message
					}]
				})
			};
			this.masterSubEmitter?.dispatchEvent(r);
			for (let i of this.getAllCriteriaEmitters()) i.dispatchEvent({ ...r });
		}), e.addEventListener("close", () => {
			let n = { type: "close" };
			this.masterSubEmitter?.dispatchEvent(n);
			for (let r of this.getAllCriteriaEmitters()) r.dispatchEvent({ ...n });
			this.pingTimer && (clearInterval(this.pingTimer), this.pingTimer = void 0, this.waitingForPong = !1), this.tokenRefreshTimer && (clearInterval(this.tokenRefreshTimer), this.tokenRefreshTimer = void 0), this.wsClosed && (this.criteriaEntries.clear(), this.criteriaEntriesBySubscriptionId.clear(), this.masterSubEmitter?.removeAllListeners());
		}), e.addEventListener("open", () => {
			let n = { type: "open" };
			this.masterSubEmitter?.dispatchEvent(n);
			for (let r of this.getAllCriteriaEmitters()) r.dispatchEvent({ ...n });
			this.refreshAllSubscriptions().catch(console.error), this.pingTimer ??= setInterval(() => {
				this.waitingForPong ? (this.waitingForPong = !1, e.reconnect()) : (e.send(JSON.stringify({ type: "ping" })), this.waitingForPong = !0), this.gcUnrefEntries();
			}, this.pingIntervalMs), this.tokenRefreshTimer ??= setInterval(() => {
				this.checkTokenExpirations(), this.gcUnrefEntries();
			}, 6e4);
		}), this.medplum.addEventListener("change", () => {
			let n = this.medplum.getProfile();
			this.currentProfile && n === void 0 ? this.ws.close() : n && this.currentProfile?.id !== n.id && this.ws.reconnect(), this.currentProfile = n;
		});
	}
	sendBind(e) {
		this.ws.send(JSON.stringify({
			type: "bind-with-token",
			payload: { token: e }
		}));
	}
	sendUnbind(e) {
		this.ws.readyState === WebSocket.OPEN && this.ws.send(JSON.stringify({
			type: "unbind-from-token",
			payload: { token: e }
		}));
	}
	emitError(e, n) {
		let r = {
			type: "error",
			payload: n
		};
		this.masterSubEmitter?.dispatchEvent(r), e.emitter.dispatchEvent({ ...r });
	}
	maybeEmitDisconnect(e) {
		let { subscriptionId: n } = e;
		if (n) {
			let r = {
				type: "disconnect",
				payload: { subscriptionId: n }
			};
			this.masterSubEmitter?.dispatchEvent(r), e.emitter.dispatchEvent({ ...r });
		} else console.warn("Called disconnect for `CriteriaEntry` before `subscriptionId` was present.");
	}
	isStale(e, n) {
		return this.isEntryGettingRemoved(e) || e.generation !== n;
	}
	maybeGetCriteriaEntry(e, n) {
		let r = this.criteriaEntries.get(e);
		if (r) {
			if (!n) return r.bareCriteria;
			for (let i of r.criteriaWithProps) if (Te(n, i.subscriptionProps)) return i;
		}
	}
	getAllCriteriaEmitters() {
		let e = [];
		for (let n of this.criteriaEntries.values()) for (let r of It(n)) r.refCount > 0 && e.push(r.emitter);
		return e;
	}
	addCriteriaEntry(e) {
		let { criteria: n, subscriptionProps: r } = e, i;
		this.criteriaEntries.has(n) ? i = this.criteriaEntries.get(n) : (i = { criteriaWithProps: [] }, this.criteriaEntries.set(n, i)), r ? i.criteriaWithProps.push(e) : i.bareCriteria = e;
	}
	removeCriteriaEntry(e) {
		e.state = "removed", e.generation++;
		let { criteria: n, subscriptionProps: r, subscriptionId: i, token: o } = e;
		if (!this.criteriaEntries.has(n)) return;
		let s = this.criteriaEntries.get(n);
		r ? s.criteriaWithProps = s.criteriaWithProps.filter((a) => {
			let u = a.subscriptionProps;
			return !Te(r, u);
		}) : s.bareCriteria = void 0, !s.bareCriteria && s.criteriaWithProps.length === 0 && (this.criteriaEntries.delete(n), this.masterSubEmitter?._removeCriteria(n)), i && this.criteriaEntriesBySubscriptionId.delete(i), o && this.sendUnbind(o);
	}
	async subscribeToCriteria(e) {
		this.wsClosed && await this.reconnectIfNeeded(), this.ws.readyState === WebSocket.OPEN && this.medplum.getProfile() && e.state === "idle" && (e.state = "connecting", await this.rebindCriteriaEntry(e));
	}
	async refreshAllSubscriptions() {
		this.criteriaEntriesBySubscriptionId.clear();
		let e = [], n = [];
		for (let r of this.criteriaEntries.values()) for (let i of It(r)) i.refCount === 0 ? n.push(i) : e.push(i);
		for (let r of n) this.removeCriteriaEntry(r);
		for (let r of e) r.token && this.sendUnbind(r.token), r.token = void 0, r.tokenExpiry = void 0, r.subscriptionId = void 0, r.state = "idle", r.generation++, await this.subscribeToCriteria(r);
	}
	async rebindCriteriaEntry(e) {
		let n = e.nextGeneration();
		try {
			if (!e.subscriptionId) {
				let a = await this.medplum.createResource({
					...e.subscriptionProps,
					resourceType: "Subscription",
					status: "active",
					reason: `WebSocket subscription for ${O(this.medplum.getProfile())}`,
					channel: { type: "websocket" },
					criteria: e.criteria
				});
				if (e.subscriptionId ??= a.id, this.isStale(e, n)) return;
			}
			let { parameter: r } = await this.medplum.get(`fhir/R4/Subscription/${e.subscriptionId}/$get-ws-binding-token`, { cache: "no-cache" }), i = r?.find((a) => a.name === "token")?.valueString, o = r?.find((a) => a.name === "websocket-url")?.valueUrl, s = r?.find((a) => a.name === "expiration")?.valueDateTime;
			if (!i) throw new m(S("Failed to get token"));
			if (!o) throw new m(S("Failed to get URL from $get-ws-binding-token"));
			if (!s) throw new m(S("Failed to get expiration from $get-ws-binding-token"));
			if (this.isStale(e, n)) return;
			e.token = i, e.tokenExpiry = new Date(s).getTime(), this.criteriaEntriesBySubscriptionId.set(e.subscriptionId, e), this.sendBind(i);
		} catch (r) {
			console.error(_e(r)), e.generation === n && !this.isEntryGettingRemoved(e) && (e.state = e.state === "refreshing" ? "active" : "idle"), this.emitError(e, r);
		}
	}
	checkTokenExpirations() {
		if (!this.medplum.getProfile()) return;
		let e = Date.now();
		for (let n of this.criteriaEntries.values()) for (let r of It(n)) r.refCount === 0 || !r.tokenExpiry || r.tokenExpiry - e <= 3e5 && r.state === "active" && this.ws.readyState === WebSocket.OPEN && (r.state = "refreshing", this.rebindCriteriaEntry(r).catch((i) => {
			this.masterSubEmitter?.dispatchEvent({
				type: "error",
				payload: i
			});
		}));
	}
	addCriteria(e, n) {
		this.masterSubEmitter && this.masterSubEmitter._addCriteria(e);
		let r = this.maybeGetCriteriaEntry(e, n);
		if (r) return r.refCount === 0 && (r.lastUnrefTime = void 0, r.generation++, r.state !== "active" && (r.state = r.token ? "active" : "idle")), r.refCount += 1, r.state === "idle" && this.subscribeToCriteria(r).catch(console.error), r.emitter;
		let i = new Ur(e, n);
		return this.addCriteriaEntry(i), this.subscribeToCriteria(i).catch(console.error), i.emitter;
	}
	removeCriteria(e, n) {
		let r = this.maybeGetCriteriaEntry(e, n);
		if (!r || this.isEntryGettingRemoved(r)) {
			console.warn("Criteria not known to `SubscriptionManager`. Possibly called remove too many times.");
			return;
		}
		r.refCount -= 1, r.refCount === 0 && (r.lastUnrefTime = Date.now(), r.generation++);
	}
	gcUnrefEntries() {
		let e = Date.now(), n = [];
		for (let r of this.criteriaEntries.values()) for (let i of It(r)) i.refCount === 0 && i.lastUnrefTime !== void 0 && e - i.lastUnrefTime >= 1e4 && n.push(i);
		for (let r of n) this.maybeEmitDisconnect(r), this.removeCriteriaEntry(r);
		n.length > 0 && this.criteriaEntries.size === 0 && this.closeWebSocket();
	}
	isEntryGettingRemoved(e) {
		return e.refCount === 0 || e.state === "removed";
	}
	getWebSocket() {
		return this.ws;
	}
	closeWebSocket() {
		if (!this.wsClosed) {
			if (this.ws.readyState === WebSocket.OPEN) for (let e of this.criteriaEntries.values()) for (let n of It(e)) n.token && this.sendUnbind(n.token);
			this.wsClosed = !0, this.ws.close();
		}
	}
	reconnectWebSocket() {
		this.ws.reconnect(), this.wsClosed = !1;
	}
	getCriteriaCount() {
		return this.getAllCriteriaEmitters().length;
	}
	getMasterEmitter() {
		return this.masterSubEmitter || (this.masterSubEmitter = new At(...Array.from(this.criteriaEntries.keys()))), this.masterSubEmitter;
	}
	async reconnectIfNeeded() {
		Tu.includes(this.getWebSocket().readyState) && await new Promise((e) => {
			let n = () => {
				this.getWebSocket().removeEventListener("open", n), e();
			};
			this.getWebSocket().addEventListener("open", n), this.reconnectWebSocket();
		});
	}
};
function It(t) {
	return t.bareCriteria ? [t.bareCriteria, ...t.criteriaWithProps] : t.criteriaWithProps;
}
new te(1e3);
var Cu = _.FHIR_JSON + ", */*; q=0.1";
var Pu = "https://api.medplum.com/";
var Iu = 1e3;
var Au = 6e4;
var wu = 0;
var Ou = 3e5;
var ku = "Binary/";
var ts = {
	resourceType: "Device",
	id: "system",
	deviceName: [{
		type: "model-name",
		name: "System"
	}]
};
var Mu = 2;
var at = {
	ClientCredentials: "client_credentials",
	AuthorizationCode: "authorization_code",
	RefreshToken: "refresh_token",
	JwtBearer: "urn:ietf:params:oauth:grant-type:jwt-bearer",
	TokenExchange: "urn:ietf:params:oauth:grant-type:token-exchange",
	PreAuthorizedCode: "urn:ietf:params:oauth:grant-type:pre-authorized_code"
};
var Du = {
	AccessToken: "urn:ietf:params:oauth:token-type:access_token",
	RefreshToken: "urn:ietf:params:oauth:token-type:refresh_token",
	IdToken: "urn:ietf:params:oauth:token-type:id_token",
	Saml1Token: "urn:ietf:params:oauth:token-type:saml1",
	Saml2Token: "urn:ietf:params:oauth:token-type:saml2"
};
var Vu = { JwtBearer: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" };
var Cn = class extends ue {
	constructor(n) {
		super();
		c(this, "options");
		c(this, "fetch");
		c(this, "createPdfImpl");
		c(this, "storage");
		c(this, "requestCache");
		c(this, "cacheTime");
		c(this, "baseUrl");
		c(this, "fhirBaseUrl");
		c(this, "authorizeUrl");
		c(this, "tokenUrl");
		c(this, "logoutUrl");
		c(this, "fhircastHubUrl");
		c(this, "cdsServicesUrl");
		c(this, "defaultHeaders");
		c(this, "onUnauthenticated");
		c(this, "autoBatchTime");
		c(this, "autoBatchQueue");
		c(this, "maxRetries");
		c(this, "maxRetryTime");
		c(this, "refreshGracePeriod");
		c(this, "subscriptionManager");
		c(this, "medplumServer");
		c(this, "clientId");
		c(this, "clientSecret");
		c(this, "credentialsInHeader");
		c(this, "autoBatchTimerId");
		c(this, "accessToken");
		c(this, "accessTokenExpires");
		c(this, "refreshToken");
		c(this, "refreshPromise");
		c(this, "profilePromise");
		c(this, "sessionDetails");
		c(this, "currentRateLimits");
		c(this, "basicAuth");
		c(this, "initPromise");
		c(this, "initComplete", !0);
		c(this, "keyValueClient");
		c(this, "logLevel");
		if (n?.baseUrl && !n.baseUrl.startsWith("http")) throw new Error("Base URL must start with http or https");
		this.options = n ?? {}, this.fetch = n?.fetch ?? _u(), this.storage = n?.storage ?? new Pt(void 0, n?.storagePrefix), this.createPdfImpl = n?.createPdf, this.baseUrl = xt(n?.baseUrl ?? Pu), this.fhirBaseUrl = $(this.baseUrl, n?.fhirUrlPath ?? "fhir/R4"), this.authorizeUrl = $(this.baseUrl, n?.authorizeUrl ?? "oauth2/authorize"), this.tokenUrl = $(this.baseUrl, n?.tokenUrl ?? "oauth2/token"), this.logoutUrl = $(this.baseUrl, n?.logoutUrl ?? "oauth2/logout"), this.fhircastHubUrl = $(this.baseUrl, n?.fhircastHubUrl ?? "fhircast/STU3"), this.cdsServicesUrl = $(this.baseUrl, n?.cdsServicesUrl ?? "cds-services"), this.clientId = n?.clientId ?? "", this.clientSecret = n?.clientSecret ?? "", this.credentialsInHeader = n?.authCredentialsMethod === "header", this.defaultHeaders = n?.defaultHeaders ?? {}, this.onUnauthenticated = n?.onUnauthenticated, this.refreshGracePeriod = n?.refreshGracePeriod ?? Ou, this.logLevel = this.initializeLogLevel(n), this.maxRetries = n?.maxRetries ?? 2, this.maxRetryTime = n?.maxRetryTime ?? 2e3, this.cacheTime = n?.cacheTime ?? (ee() ? Au : wu), this.cacheTime > 0 ? this.requestCache = new te(n?.resourceCacheSize ?? Iu) : this.requestCache = void 0, n?.autoBatchTime ? (this.autoBatchTime = n.autoBatchTime, this.autoBatchQueue = []) : (this.autoBatchTime = 0, this.autoBatchQueue = void 0), n?.accessToken && this.setAccessToken(n.accessToken), this.storage.getInitPromise === void 0 ? (n?.accessToken || this.attemptResumeActiveLogin().catch(console.error), this.initPromise = Promise.resolve(), this.dispatchEvent({ type: "storageInitialized" })) : (this.initComplete = !1, this.initPromise = this.storage.getInitPromise(), this.initPromise.then(() => {
			n?.accessToken || this.attemptResumeActiveLogin().catch(console.error), this.initComplete = !0, this.dispatchEvent({ type: "storageInitialized" });
		}).catch((r) => {
			console.error(r), this.initComplete = !0, this.dispatchEvent({
				type: "storageInitFailed",
				payload: { error: r }
			});
		})), this.setupStorageListener();
	}
	get isInitialized() {
		return this.initComplete;
	}
	getInitPromise() {
		return this.initPromise;
	}
	initializeLogLevel(n) {
		return n?.logLevel ? n.logLevel : n?.verbose !== void 0 && n.verbose ? "verbose" : "none";
	}
	async attemptResumeActiveLogin() {
		let n = this.getActiveLogin();
		n && (this.setAccessToken(n.accessToken, n.refreshToken), await this.refreshProfile());
	}
	getBaseUrl() {
		return this.baseUrl;
	}
	getAuthorizeUrl() {
		return this.authorizeUrl;
	}
	getTokenUrl() {
		return this.tokenUrl;
	}
	getLogoutUrl() {
		return this.logoutUrl;
	}
	getFhircastHubUrl() {
		return this.fhircastHubUrl;
	}
	getCdsServicesUrl() {
		return this.cdsServicesUrl;
	}
	getDefaultHeaders() {
		return this.defaultHeaders;
	}
	clear() {
		this.storage.clear(), this.clearActiveLogin();
	}
	clearActiveLogin() {
		this.storage.setString("activeLogin", void 0), this.requestCache?.clear(), this.accessToken = void 0, this.refreshToken = void 0, this.refreshPromise = void 0, this.accessTokenExpires = void 0, this.sessionDetails = void 0, this.medplumServer = void 0, this.dispatchEvent({ type: "change" });
	}
	invalidateUrl(n) {
		n = n.toString(), this.requestCache?.delete(n);
	}
	invalidateAll() {
		this.requestCache?.clear();
	}
	invalidateSearches(n) {
		let r = $(this.fhirBaseUrl, n);
		for (let i of this.requestCache?.keys() ?? v) (i.endsWith(r) || i.includes(r + "?")) && this.requestCache?.delete(i);
	}
	notifyResourceModified(n) {
		n.operation !== "delete" && n.resource ? this.cacheResource(n.resource, void 0) : n.id && this.deleteCacheEntry(this.fhirUrl(n.resourceType, n.id).toString()), this.invalidateSearches(n.resourceType), this.dispatchResourceModified(n);
	}
	get(n, r = {}) {
		n = n.toString();
		let i = this.getCacheEntry(n, r);
		if (i) return i.value;
		let o;
		n.startsWith(this.fhirBaseUrl) && this.autoBatchQueue && !r.disableAutoBatch ? o = new Promise((a, u) => {
			this.autoBatchQueue.push({
				method: "GET",
				url: n.replace(this.fhirBaseUrl, ""),
				options: r,
				resolve: a,
				reject: u
			}), this.autoBatchTimerId || (this.autoBatchTimerId = setTimeout(() => this.executeAutoBatch(), this.autoBatchTime));
		}) : (r.method = "GET", o = this.request(n, r));
		let s = new j(o);
		return this.setCacheEntry(n, s, r), s;
	}
	post(n, r, i, o = {}) {
		return n = n.toString(), this.setRequestBody(o, r), i && this.setRequestContentType(o, i), this.invalidateUrl(n), o.method = "POST", this.request(n, o);
	}
	put(n, r, i, o = {}) {
		return n = n.toString(), this.setRequestBody(o, r), i && this.setRequestContentType(o, i), this.invalidateUrl(n), o.method = "PUT", this.request(n, o);
	}
	patch(n, r, i = {}) {
		return n = n.toString(), this.setRequestBody(i, r), this.setRequestContentType(i, _.JSON_PATCH), this.invalidateUrl(n), i.method = "PATCH", this.request(n, i);
	}
	delete(n, r = {}) {
		return n = n.toString(), this.invalidateUrl(n), r.method = "DELETE", this.request(n, r);
	}
	async startNewUser(n, r) {
		let { codeChallengeMethod: i, codeChallenge: o } = await this.startPkce();
		return this.post("auth/newuser", {
			...n,
			clientId: n.clientId ?? this.clientId,
			codeChallengeMethod: i,
			codeChallenge: o
		}, void 0, r);
	}
	async startNewProject(n, r) {
		return this.post("auth/newproject", n, void 0, r);
	}
	async startNewPatient(n, r) {
		return this.post("auth/newpatient", n, void 0, r);
	}
	async startLogin(n, r) {
		return this.post("auth/login", {
			...await this.ensureCodeChallenge(n),
			clientId: n.clientId ?? this.clientId,
			scope: n.scope
		}, void 0, r);
	}
	async startGoogleLogin(n, r) {
		return this.post("auth/google", {
			...await this.ensureCodeChallenge(n),
			clientId: n.clientId ?? this.clientId,
			scope: n.scope
		}, void 0, r);
	}
	async ensureCodeChallenge(n) {
		return n.codeChallenge ? n : {
			...n,
			...await this.startPkce()
		};
	}
	async signOut() {
		await this.post(this.logoutUrl, {}), this.clear();
	}
	async signInWithRedirect(n) {
		let i = new URLSearchParams(ge.getSearch()).get("code");
		if (!i) {
			await this.requestAuthorization(n);
			return;
		}
		return this.processCode(i);
	}
	signOutWithRedirect() {
		ge.assign(this.logoutUrl);
	}
	async signInWithExternalAuth(n, r, i, o, s = !0) {
		let a = o;
		s && (a = await this.ensureCodeChallenge(o)), ge.assign(this.getExternalAuthRedirectUri(n, r, i, a, s));
	}
	async exchangeExternalAccessToken(n, r, i) {
		if (r = r ?? this.clientId, !r) throw new Error("MedplumClient is missing clientId");
		let o = {
			grant_type: at.TokenExchange,
			subject_token_type: Du.AccessToken,
			client_id: r,
			subject_token: n
		};
		return i && (o.membership_id = i), this.fetchTokens(o);
	}
	getExternalAuthRedirectUri(n, r, i, o, s = !0) {
		let a = new URL(n);
		if (a.searchParams.set("response_type", "code"), a.searchParams.set("client_id", r), a.searchParams.set("redirect_uri", i), a.searchParams.set("scope", o.scope ?? "openid profile email"), a.searchParams.set("state", JSON.stringify(o)), s) {
			let { codeChallenge: u, codeChallengeMethod: d } = o;
			if (!d) throw new Error("`LoginRequest` for external auth must include a `codeChallengeMethod`.");
			if (!u) throw new Error("`LoginRequest` for external auth must include a `codeChallenge`.");
			a.searchParams.set("code_challenge_method", d), a.searchParams.set("code_challenge", u);
		}
		return a.toString();
	}
	fhirUrl(...n) {
		return new URL($(this.fhirBaseUrl, n.join("/")));
	}
	fhirSearchUrl(n, r) {
		let i = this.fhirUrl(n);
		return r && (i.search = vo(r)), i;
	}
	search(n, r, i) {
		let o = this.fhirSearchUrl(n, r), s = "search-" + o.toString(), a = this.getCacheEntry(s, i);
		if (a) return a.value;
		let u = this.getBundle(o, i);
		return this.setCacheEntry(s, u, i), u;
	}
	searchOne(n, r, i) {
		let o = this.fhirSearchUrl(n, r);
		o.searchParams.set("_count", "1"), o.searchParams.sort();
		let s = "searchOne-" + o.toString(), a = this.getCacheEntry(s, i);
		if (a) return a.value;
		let u = new j(this.search(n, o.searchParams, i).then((d) => d.entry?.[0]?.resource));
		return this.setCacheEntry(s, u, i), u;
	}
	searchResources(n, r, i) {
		let s = "searchResources-" + this.fhirSearchUrl(n, r).toString(), a = this.getCacheEntry(s, i);
		if (a) return a.value;
		let u = new j(this.search(n, r, i).then(rs));
		return this.setCacheEntry(s, u, i), u;
	}
	async *searchResourcePages(n, r, i) {
		let o = this.fhirSearchUrl(n, r);
		for (; o;) {
			let s = new URL(o).searchParams;
			s.has("_count") || s.set("_count", "1000");
			let a = await this.search(n, s, i), u = a.link?.find((d) => d.relation === "next");
			if (!a.entry?.length && !u) break;
			yield rs(a), o = u?.url ? new URL(u.url) : void 0;
		}
	}
	valueSetExpand(n, r) {
		let i = this.fhirUrl("ValueSet", "$expand");
		return i.search = new URLSearchParams(n).toString(), this.get(i.toString(), r);
	}
	getCached(n, r) {
		let i = this.requestCache?.get(this.fhirUrl(n, r).toString())?.value;
		return i?.isOk() ? i.read() : void 0;
	}
	getCachedReference(n) {
		let r = n.reference;
		if (!r) return;
		if (r === "system") return ts;
		let [i, o] = r.split("/");
		if (!(!i || !o)) return this.getCached(i, o);
	}
	readResource(n, r, i) {
		if (!r) throw new Error("The \"id\" parameter cannot be null, undefined, or an empty string.");
		return this.get(this.fhirUrl(n, r), i);
	}
	readReference(n, r) {
		let i = n.reference;
		if (!i) return new j(Promise.reject(/* @__PURE__ */ new Error("Missing reference")));
		if (i === "system") return new j(Promise.resolve(ts));
		let [o, s] = i.split("/");
		return !o || !s ? new j(Promise.reject(/* @__PURE__ */ new Error("Invalid reference"))) : this.readResource(o, s, r);
	}
	readCanonical(n, r, i) {
		return Array.isArray(n) ? this.searchOne("", {
			_type: n.join(","),
			url: r
		}, i) : this.searchOne(n, "url=" + r, i);
	}
	requestSchema(n, r) {
		if (Hi(n)) return Promise.resolve();
		let i = n + "-requestSchema", o = this.getCacheEntry(i, void 0);
		if (o) return o.value;
		let s = new j((async () => {
			let a = `{
      StructureDefinitionList(_filter: "name eq ${n}") {
        resourceType,
        name,
        kind,
        description,
        type,
        url,
        snapshot {
          element {
            id,
            path,
            definition,
            min,
            max,
            base {
              path,
              min,
              max
            },
            contentReference,
            type {
              code,
              profile,
              targetProfile
            },
            binding {
              strength,
              valueSet
            }
          }
        }
      }
      SearchParameterList(base: "${n}", _count: 100) {
        base,
        code,
        type,
        expression,
        target
      }
    }`.replaceAll(/\s+/g, " "), u = await this.graphql(a);
			pt(u.data.StructureDefinitionList);
			for (let d of u.data.SearchParameterList) Pr(d);
		})());
		return this.setCacheEntry(i, s, r), s;
	}
	requestProfileSchema(n, r) {
		if (!r?.expandProfile && Gi(n)) return Promise.resolve();
		let i = n + "-requestSchema" + (r?.expandProfile ? "-nested" : ""), o = this.getCacheEntry(i, void 0);
		if (o) return o.value;
		let s = new j((async () => {
			if (r?.expandProfile) {
				let a = this.fhirUrl("StructureDefinition", "$expand-profile");
				a.search = new URLSearchParams({ url: n }).toString();
				pt(await this.post(a.toString(), {}));
			} else {
				let a = await this.searchOne("StructureDefinition", {
					url: n,
					_sort: "-_lastUpdated"
				});
				if (!a) {
					console.warn(`No StructureDefinition found for ${n}!`);
					return;
				}
				ir(a);
			}
		})());
		return this.setCacheEntry(i, s, r), s;
	}
	readHistory(n, r, i, o) {
		let s = this.fhirUrl(n, r, "_history");
		return i?.count && s.searchParams.set("_count", i.count.toString()), i?.offset && s.searchParams.set("_offset", i.offset.toString()), this.get(s.toString(), o);
	}
	readVersion(n, r, i, o) {
		return this.get(this.fhirUrl(n, r, "_history", i), o);
	}
	readPatientEverything(n, r) {
		return this.getBundle(this.fhirUrl("Patient", n, "$everything"), r);
	}
	readPatientSummary(n, r) {
		return this.getBundle(this.fhirUrl("Patient", n, "$summary"), r);
	}
	async createResource(n, r) {
		if (!n.resourceType) throw new Error("Missing resourceType");
		this.invalidateSearches(n.resourceType);
		let i = await this.post(this.fhirUrl(n.resourceType), n, void 0, r);
		return this.dispatchResourceModified({
			resourceType: n.resourceType,
			operation: "create",
			id: i?.id,
			resource: i
		}), i;
	}
	async createResourceIfNoneExist(n, r, i = {}) {
		let o = this.fhirUrl(n.resourceType);
		this.setRequestHeader(i, "If-None-Exist", r);
		let s = await this.post(o, n, void 0, i);
		return this.cacheResource(s, i), this.invalidateUrl(this.fhirUrl(n.resourceType, n.id, "_history")), this.invalidateSearches(n.resourceType), this.dispatchResourceModified({
			resourceType: n.resourceType,
			operation: "create",
			id: s?.id,
			resource: s
		}), s;
	}
	async upsertResource(n, r, i) {
		let o = this.fhirSearchUrl(n.resourceType, r), s = await this.put(o, n, void 0, i), a = s !== void 0;
		return s || (s = n), this.cacheResource(s, i), this.invalidateUrl(this.fhirUrl(n.resourceType, n.id, "_history")), this.invalidateSearches(n.resourceType), a && this.dispatchResourceModified({
			resourceType: n.resourceType,
			operation: "update",
			id: s.id,
			resource: s
		}), s;
	}
	async createAttachment(n, r, i, o, s) {
		let a = is(n, r, i, o);
		if (a.contentType === _.XML) {
			let l = a.data, f;
			l instanceof Blob ? f = await new Promise((h, b) => {
				let P = new FileReader();
				P.onload = () => {
					if (!P.result) {
						b(/* @__PURE__ */ new Error("Failed to load file"));
						return;
					}
					h(P.result);
				}, P.readAsText(l, "utf-8");
			}) : ArrayBuffer.isView(l) ? f = new TextDecoder().decode(l) : f = l, f.includes("<ClinicalDocument") && f.includes("urn:hl7-org:v3") && (a = {
				...a,
				contentType: _.CDA_XML
			});
		}
		let u = s ?? (typeof r == "object" ? r : {}), d = await this.createBinary(a, u);
		return {
			contentType: a.contentType,
			url: d.url,
			title: a.filename
		};
	}
	createBinary(n, r, i, o, s) {
		let a = is(n, r, i, o), u = s ?? (typeof r == "object" ? r : {}), { data: d, contentType: l, filename: f, securityContext: h, onProgress: b } = a, P = this.fhirUrl("Binary");
		return f && P.searchParams.set("_filename", f), h?.reference && this.setRequestHeader(u, "X-Security-Context", h.reference), b ? this.uploadwithProgress(P, d, l, b, u) : this.post(P, d, l, u);
	}
	uploadwithProgress(n, r, i, o, s) {
		return new Promise((a, u) => {
			let d = new XMLHttpRequest(), l = () => d.abort();
			s?.signal?.addEventListener("abort", l);
			let f = (h) => {
				s?.signal?.removeEventListener("abort", l), h instanceof Error ? u(h) : a(h);
			};
			if (d.responseType = "json", d.onabort = () => f(new DOMException("Request aborted", "AbortError")), d.onerror = () => f(/* @__PURE__ */ new Error("Request error")), o && (d.upload.onprogress = (h) => o(h), d.upload.onload = (h) => o(h)), d.onload = () => {
				d.status >= 200 && d.status < 300 ? f(d.response) : f(new m(qt(d.response || d.statusText)));
			}, d.open("POST", n), d.withCredentials = !0, d.setRequestHeader("Authorization", "Bearer " + this.accessToken), d.setRequestHeader("Cache-Control", "no-cache, no-store, max-age=0"), d.setRequestHeader("Content-Type", i), this.options.extendedMode !== !1 && d.setRequestHeader("X-Medplum", "extended"), s?.headers) {
				let h = s.headers;
				for (let [b, P] of Object.entries(h)) d.setRequestHeader(b, P);
			}
			d.send(r);
		});
	}
	async createPdf(n, r, i, o) {
		if (!this.createPdfImpl) throw new Error("PDF creation not enabled");
		let s = Fu(n, r, i, o), a = typeof r == "object" ? r : {}, { docDefinition: u, tableLayouts: d, fonts: l, ...f } = s, h = await this.createPdfImpl(u, d, l), b = {
			...f,
			data: h,
			contentType: "application/pdf"
		};
		return this.createBinary(b, a);
	}
	createComment(n, r, i) {
		let o = this.getProfile(), s, a;
		return n.resourceType === "Encounter" && (s = X(n), a = n.subject), n.resourceType === "ServiceRequest" && (s = n.encounter, a = n.subject), n.resourceType === "Patient" && (a = X(n)), this.createResource({
			resourceType: "Communication",
			status: "completed",
			basedOn: [X(n)],
			encounter: s,
			subject: a,
			sender: o ? X(o) : void 0,
			sent: (/* @__PURE__ */ new Date()).toISOString(),
			payload: [{ contentString: r }]
		}, i);
	}
	async updateResource(n, r) {
		if (!n.resourceType) throw new Error("Missing resourceType");
		if (!n.id) throw new Error("Missing id");
		let i = await this.put(this.fhirUrl(n.resourceType, n.id), n, void 0, r), o = i !== void 0;
		return i || (i = n), this.cacheResource(i, r), this.invalidateUrl(this.fhirUrl(n.resourceType, n.id, "_history")), this.invalidateSearches(n.resourceType), o && this.dispatchResourceModified({
			resourceType: n.resourceType,
			operation: "update",
			id: i.id,
			resource: i
		}), i;
	}
	async patchResource(n, r, i, o) {
		let s = await this.patch(this.fhirUrl(n, r), i, o);
		return this.cacheResource(s, o), this.invalidateUrl(this.fhirUrl(n, r, "_history")), this.invalidateSearches(n), this.dispatchResourceModified({
			resourceType: n,
			operation: "patch",
			id: r,
			resource: s
		}), s;
	}
	async deleteResource(n, r, i) {
		this.deleteCacheEntry(this.fhirUrl(n, r).toString()), this.invalidateSearches(n);
		let o = await this.delete(this.fhirUrl(n, r), i);
		return this.dispatchResourceModified({
			resourceType: n,
			operation: "delete",
			id: r
		}), o;
	}
	validateResource(n, r) {
		return this.post(this.fhirUrl(n.resourceType, "$validate"), n, void 0, r);
	}
	executeBot(n, r, i, o) {
		let s;
		if (typeof n == "string") {
			let a = n;
			s = this.fhirUrl("Bot", a, "$execute");
		} else {
			let a = n;
			s = this.fhirUrl("Bot", "$execute"), s.searchParams.set("identifier", a.system + "|" + a.value);
		}
		return this.post(s, r, i, o);
	}
	executeBatch(n, r) {
		return this.post(this.fhirBaseUrl, n, void 0, r);
	}
	sendEmail(n, r) {
		return this.post("email/v1/send", n, _.JSON, r);
	}
	graphql(n, r, i, o) {
		return this.post(this.fhirUrl("$graphql"), {
			query: n,
			operationName: r,
			variables: i
		}, _.JSON, o);
	}
	readResourceGraph(n, r, i, o) {
		return this.get(`${this.fhirUrl(n, r)}/$graph?graph=${i}`, o);
	}
	pushToAgent(n, r, i, o, s, a) {
		let { waitTimeout: u, returnAck: d, ...l } = a ?? {};
		return this.post(this.fhirUrl("Agent", Z(n), "$push"), {
			destination: typeof r == "string" ? r : O(r),
			body: i,
			contentType: o,
			waitForResponse: s,
			...u !== void 0 ? { waitTimeout: u } : void 0,
			...d !== void 0 ? { returnAck: d } : void 0
		}, _.FHIR_JSON, l);
	}
	getCdsServices(n) {
		return this.get(this.cdsServicesUrl, n);
	}
	callCdsService(n, r, i) {
		return this.post($(this.cdsServicesUrl, n), r, _.JSON, i);
	}
	getActiveLogin() {
		return this.storage.getObject("activeLogin");
	}
	async setActiveLogin(n) {
		(!this.sessionDetails?.profile || O(this.sessionDetails.profile) !== n.profile?.reference) && this.clearActiveLogin(), this.setAccessToken(n.accessToken, n.refreshToken), this.storage.setObject("activeLogin", n), this.addLogin(n), this.refreshPromise = void 0, await this.refreshProfile();
	}
	getAccessToken() {
		return this.accessToken;
	}
	isAuthenticated(n) {
		return this.accessTokenExpires !== void 0 && Date.now() < this.accessTokenExpires - (n ?? this.refreshGracePeriod);
	}
	setAccessToken(n, r) {
		this.accessToken = n, this.refreshToken = r, this.accessTokenExpires = Xo(n), this.medplumServer = Yo(n);
	}
	getLogins() {
		return this.storage.getObject("logins") ?? [];
	}
	addLogin(n) {
		let r = this.getLogins().filter((i) => i.profile?.reference !== n.profile?.reference);
		r.push(n), this.storage.setObject("logins", r);
	}
	async refreshProfile() {
		if (this.medplumServer) return this.profilePromise = new Promise((n, r) => {
			this.get("auth/me", { cache: "no-cache" }).then((i) => {
				this.profilePromise = void 0;
				let o = this.sessionDetails?.profile?.id !== i.profile.id;
				this.sessionDetails = i, this.syncStoredLoginProject(), o && this.dispatchEvent({ type: "change" }), n(i.profile), this.dispatchEvent({ type: "profileRefreshed" });
			}).catch(r);
		}), this.dispatchEvent({ type: "profileRefreshing" }), this.profilePromise;
	}
	syncStoredLoginProject() {
		let n = this.getActiveLogin(), r = this.sessionDetails?.project?.name;
		if (!n || !r || n.project.display === r) return;
		let i = {
			...n,
			project: {
				...n.project,
				display: r
			}
		};
		this.storage.setObject("activeLogin", i), this.addLogin(i);
	}
	isLoading() {
		return !this.isInitialized || !!this.profilePromise && !this.sessionDetails?.profile;
	}
	isSuperAdmin() {
		return !!this.sessionDetails?.project.superAdmin;
	}
	isProjectAdmin() {
		return !!this.sessionDetails?.membership.admin;
	}
	getProject() {
		return this.sessionDetails?.project;
	}
	getProjectMembership() {
		return this.sessionDetails?.membership;
	}
	getProfile() {
		return this.sessionDetails?.profile;
	}
	async getProfileAsync() {
		return this.profilePromise ? this.profilePromise : this.sessionDetails ? this.sessionDetails.profile : this.refreshProfile();
	}
	getUserConfiguration() {
		return this.sessionDetails?.config;
	}
	getAccessPolicy() {
		return this.sessionDetails?.accessPolicy;
	}
	async download(n, r = {}) {
		return (await this.downloadResponse(n, r)).blob();
	}
	async downloadResponse(n, r = {}) {
		this.refreshPromise && await this.refreshPromise;
		let i = n.toString();
		i.startsWith(ku) && (n = this.fhirUrl(i));
		let o = r.headers;
		return o || (o = {}, r.headers = o), o.Accept || (o.Accept = "*/*"), this.addFetchOptionsDefaults(r, n.toString()), this.fetchWithRetry(n.toString(), r);
	}
	async createMedia(n, r) {
		let { additionalFields: i, ...o } = n, s = await this.createResource({
			resourceType: "Media",
			status: "preparation",
			content: { contentType: n.contentType },
			...i
		});
		o.securityContext || (o.securityContext = X(s));
		let a = await this.createAttachment(o, r);
		return this.updateResource({
			...s,
			status: "completed",
			content: a
		});
	}
	async uploadMedia(n, r, i, o, s) {
		return this.createMedia({
			data: n,
			contentType: r,
			filename: i,
			additionalFields: o
		}, s);
	}
	async createDocumentReference(n, r) {
		let { additionalFields: i, ...o } = n, s = await this.createResource({
			resourceType: "DocumentReference",
			status: "current",
			content: [{ attachment: { contentType: n.contentType } }],
			...i
		});
		o.securityContext || (o.securityContext = X(s));
		let a = await this.createAttachment(o, r);
		return this.updateResource({
			...s,
			content: [{ attachment: a }]
		});
	}
	async bulkExport(n = "", r, i, o) {
		let s = n && `${n}/`, a = this.fhirUrl(`${s}$export`);
		return r && a.searchParams.set("_type", r), i && a.searchParams.set("_since", i), this.startAsyncRequest(a.toString(), o);
	}
	async startAsyncRequest(n, r = {}) {
		this.addFetchOptionsDefaults(r, n);
		let i = r.headers;
		return i.Prefer = "respond-async", r.method = "POST", this.request(n, r);
	}
	async wrappedFetch(n, r) {
		return await this.refreshIfExpired(), this.addFetchOptionsDefaults(r, n), this.fetchWithRetry(n, r);
	}
	get keyValue() {
		return this.keyValueClient || (this.keyValueClient = new En(this)), this.keyValueClient;
	}
	getBundle(n, r) {
		return new j((async () => {
			let i = await this.get(n, r);
			for (let o of i.entry ?? v) this.cacheResource(o.resource, r);
			return i;
		})());
	}
	isCacheEnabled(n) {
		return !!this.requestCache && !this.getRequestHeader(n, "x-medplum-on-behalf-of");
	}
	getCacheEntry(n, r) {
		if (!this.isCacheEnabled(r) || r?.cache === "no-cache" || r?.cache === "reload") return;
		let i = this.requestCache.get(n);
		if (!(!i || i.requestTime + this.cacheTime < Date.now())) return i;
	}
	setCacheEntry(n, r, i) {
		this.isCacheEnabled(i) && !i?.signal?.aborted && (this.requestCache.set(n, {
			requestTime: Date.now(),
			value: r
		}), i?.signal && i.signal.addEventListener("abort", () => {
			this.requestCache.delete(n);
		}));
	}
	cacheResource(n, r) {
		n?.id && !n.meta?.tag?.some((i) => i.code === "SUBSETTED") && this.setCacheEntry(this.fhirUrl(n.resourceType, n.id).toString(), new j(Promise.resolve(n)), r);
	}
	deleteCacheEntry(n) {
		this.requestCache && this.requestCache.delete(n);
	}
	dispatchResourceModified(n) {
		this.listenerCount("resourceModified") > 0 && this.dispatchEvent({
			type: "resourceModified",
			payload: n
		});
	}
	async request(n, r = {}, i = {}) {
		let o = await this.wrappedFetch(n, r);
		if (o.status === 401) return this.handleUnauthenticated(n, r, i);
		if (o.status === 204 || o.status === 304) return;
		let a = o.headers.get("content-type")?.includes("json");
		if (o.status === 404 && !a) throw new m(Mi);
		let u = await this.parseBody(o, a);
		if (o.status === 200 && r.followRedirectOnOk || o.status === 201 && r.followRedirectOnCreated) {
			let d = await ns(o, u);
			if (d) return this.request(d, {
				...r,
				method: "GET",
				body: void 0
			});
		}
		if (o.status === 202 && r.pollStatusOnAccepted) {
			let l = await ns(o, u) ?? i.statusUrl;
			if (l) return this.pollStatus(l, r, i);
		}
		if (o.status >= 400) throw new m(qt(u));
		return u;
	}
	async parseBody(n, r) {
		let i;
		if (n.headers.get("content-length") !== "0") {
			if (r) try {
				i = await n.json();
			} catch (o) {
				throw console.error("Error parsing response", n.status, o), o;
			}
			else i = await n.text();
			return i;
		}
	}
	async fetchWithRetry(n, r) {
		n.startsWith("http") || (n = $(this.baseUrl, n));
		let i = r?.maxRetries ?? this.maxRetries;
		for (let o = 0; o <= i; o++) try {
			this.logLevel !== "none" && this.logRequest(n, r);
			let s = await this.fetch(n, r);
			if (this.logLevel !== "none" && this.logResponse(s), this.setCurrentRateLimit(s), o >= i || !Uu(s)) return s;
			let a = this.getRetryDelay(o);
			if (a > (r.maxRetryTime ?? this.maxRetryTime)) return s;
			await Rr(a, { signal: r.signal });
		} catch (s) {
			if (s.message === "Failed to fetch" && o === 0 && this.dispatchEvent({ type: "offline" }), s.name === "AbortError" || o === i) throw s;
		}
		throw new Error("Unreachable");
	}
	logRequest(n, r) {
		if (console.log(`> ${r.method} ${n}`), this.logLevel === "verbose" && r.headers) {
			let i = r.headers;
			for (let o of Xt(Object.keys(i))) console.log(`> ${o}: ${i[o]}`);
		}
	}
	logResponse(n) {
		console.log(`< ${n.status} ${n.statusText}`), this.logLevel === "verbose" && n.headers && n.headers.forEach((r, i) => console.log(`< ${i}: ${r}`));
	}
	setCurrentRateLimit(n) {
		if (!n?.headers || typeof n.headers.get != "function") return;
		let r = n.headers.get("ratelimit");
		r && (this.currentRateLimits = r);
	}
	rateLimitStatus() {
		if (!this.currentRateLimits) return [];
		let n = this.currentRateLimits;
		return n.split(",").map((r) => {
			let i = r.split(";").map((l) => l.trim());
			if (i.length !== 3) throw new Error("Could not parse RateLimit header: " + n);
			let o = i[0].substring(1, i[0].length - 1), s = i.find((l) => l.startsWith("r="))?.substring(2), a = s ? Number.parseInt(s, 10) : NaN, u = i.find((l) => l.startsWith("t="))?.substring(2), d = u ? Number.parseInt(u, 10) : NaN;
			if (!o || Number.isNaN(a) || Number.isNaN(d)) throw new Error("Could not parse RateLimit header: " + n);
			return {
				name: o,
				remainingUnits: a,
				secondsUntilReset: d,
				resetsAfter: Math.ceil((Date.now() + 1e3 * d) / 1e3)
			};
		});
	}
	getRetryDelay(n) {
		let r = this.rateLimitStatus(), i = 500 * Math.pow(1.5, n);
		for (let o of r) o.remainingUnits || (i = Math.max(i, o.secondsUntilReset * 1e3));
		return i;
	}
	async pollStatus(n, r, i) {
		let o = {
			...r,
			method: "GET",
			body: void 0,
			redirect: "follow"
		};
		if (i.pollCount === void 0) r.headers && typeof r.headers == "object" && "Prefer" in r.headers && (o.headers = { ...r.headers }, delete o.headers.Prefer), i.statusUrl = n, i.pollCount = 1;
		else await Rr(r.pollStatusPeriod ?? 1e3, { signal: r.signal }), i.pollCount++;
		return this.request(n, o, i);
	}
	async executeAutoBatch() {
		if (this.autoBatchQueue === void 0) return;
		let n = [...this.autoBatchQueue];
		if (this.autoBatchQueue.length = 0, this.autoBatchTimerId = void 0, n.length === 1) {
			let o = n[0];
			try {
				o.options.method = o.method, o.resolve(await this.request($(this.fhirBaseUrl, o.url), o.options));
			} catch (s) {
				o.reject(new m(qt(s)));
			}
			return;
		}
		let r = {
			resourceType: "Bundle",
			type: "batch",
			entry: n.map((o) => ({
				request: {
					method: o.method,
					url: o.url
				},
				resource: o.options.body ? JSON.parse(o.options.body) : void 0
			}))
		}, i = await this.post(this.fhirBaseUrl, r);
		for (let o = 0; o < n.length; o++) {
			let s = n[o], a = i.entry?.[o];
			a?.response?.outcome && !Xn(a.response.outcome) ? s.reject(new m(a.response.outcome)) : s.resolve(a?.resource);
		}
	}
	isInternalUrl(n) {
		if (!n.startsWith("http://") && !n.startsWith("https://")) return !0;
		try {
			let r = new URL(n);
			return n.startsWith(this.baseUrl) || n.startsWith(this.fhirBaseUrl) || r.origin === new URL(this.baseUrl).origin && xt(r.pathname).startsWith(xt(new URL(this.baseUrl).pathname));
		} catch {
			return !1;
		}
	}
	addFetchOptionsDefaults(n, r) {
		Object.entries(this.defaultHeaders).forEach(([i, o]) => {
			this.setRequestHeader(n, i, o);
		}), this.setRequestHeader(n, "Accept", Cu, !0), this.options.extendedMode !== !1 && this.setRequestHeader(n, "X-Medplum", "extended"), n.body && this.setRequestHeader(n, "Content-Type", _.FHIR_JSON, !0), this.isInternalUrl(r) && (this.accessToken ? this.setRequestHeader(n, "Authorization", "Bearer " + this.accessToken) : this.basicAuth && this.setRequestHeader(n, "Authorization", "Basic " + this.basicAuth), n.credentials || (n.credentials = "include"));
	}
	setRequestContentType(n, r) {
		this.setRequestHeader(n, "Content-Type", r);
	}
	getRequestHeader(n, r) {
		let i = n?.headers;
		if (i) if (Array.isArray(i)) {
			let o = i.find(([s]) => s.toLowerCase() === r.toLowerCase());
			return o ? o[1] : void 0;
		} else {
			if (i instanceof Headers) return i.get(r) ?? void 0;
			if (C(i)) return i[r] ?? void 0;
		}
		else return;
	}
	setRequestHeader(n, r, i, o = !1) {
		let s = n.headers;
		s ? Array.isArray(s) ? (!o || !s.some(([a]) => a.toLowerCase() === r.toLowerCase())) && s.push([r, i]) : s instanceof Headers ? (!o || !s.has(r)) && s.set(r, i) : C(s) && (!o || !s[r]) && (s[r] = i) : n.headers = { [r]: i };
	}
	setRequestBody(n, r) {
		typeof r == "string" || typeof Blob < "u" && (r instanceof Blob || r?.constructor.name === "Blob") || typeof File < "u" && (r instanceof File || r?.constructor.name === "File") || typeof Uint8Array < "u" && (r instanceof Uint8Array || r?.constructor.name === "Uint8Array") ? n.body = r : typeof r == "object" && r !== null && (typeof r.getReader == "function" || typeof r.pipe == "function" && typeof r.on == "function") ? (n.body = r, n.duplex = "half") : r && (n.body = JSON.stringify(r));
	}
	async handleUnauthenticated(n, r, i) {
		let o = i.authAttempt ?? 0, s = o + 1 < Mu ? this.refresh(void 0, !0) : void 0;
		if (s) return await s, this.request(n, r, {
			...i,
			authAttempt: o + 1
		});
		throw this.clear(), this.onUnauthenticated?.(), new m(Je);
	}
	async startPkce() {
		let n = Mr();
		this.storage.setString("pkceState", n);
		let r = Mr().slice(0, 128);
		this.storage.setString("codeVerifier", r);
		try {
			return {
				codeChallengeMethod: "S256",
				codeChallenge: po(await $o(r)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")
			};
		} catch (i) {
			return console.warn("Failed to hash code verifier. Falling back to 'plain' code challenge method", i), {
				codeChallengeMethod: "plain",
				codeChallenge: r
			};
		}
	}
	async requestAuthorization(n) {
		let r = await this.ensureCodeChallenge(n ?? {}), i = new URL(this.authorizeUrl);
		i.searchParams.set("response_type", "code"), i.searchParams.set("state", this.storage.getString("pkceState")), i.searchParams.set("client_id", r.clientId ?? this.clientId), i.searchParams.set("redirect_uri", r.redirectUri ?? ge.getOrigin()), i.searchParams.set("code_challenge_method", r.codeChallengeMethod), i.searchParams.set("code_challenge", r.codeChallenge), i.searchParams.set("scope", r.scope ?? "openid profile"), ge.assign(i.toString());
	}
	processCode(n, r) {
		let i = {
			grant_type: at.AuthorizationCode,
			code: n,
			client_id: r?.clientId ?? this.clientId ?? "",
			redirect_uri: r?.redirectUri ?? ge.getOrigin()
		}, o = this.storage.getString("codeVerifier");
		return o && (i.code_verifier = o), this.fetchTokens(i);
	}
	refreshIfExpired(n) {
		return !this.refreshPromise && this.accessTokenExpires !== void 0 && !this.isAuthenticated(n) && this.refresh(n), this.refreshPromise ?? Promise.resolve();
	}
	refresh(n, r = !1) {
		if (this.refreshPromise) return this.refreshPromise;
		if (!(!this.refreshToken && !(this.clientId && this.clientSecret))) return this.refreshPromise = this.runRefreshWithLock(n, r), this.refreshPromise;
	}
	async runRefreshWithLock(n, r = !1) {
		let i = () => {
			let a = this.accessToken, u = this.getActiveLogin();
			u?.accessToken && u.accessToken !== this.accessToken && this.setAccessToken(u.accessToken, u.refreshToken);
			let d = this.accessToken !== a;
			return this.isAuthenticated(n) && (!r || d) ? Promise.resolve(this.getProfile()) : this.refreshToken ? this.fetchTokens({
				grant_type: at.RefreshToken,
				client_id: this.clientId ?? "",
				refresh_token: this.refreshToken
			}) : this.clientId && this.clientSecret ? this.startClientLogin(this.clientId, this.clientSecret) : Promise.resolve(void 0);
		}, o = typeof navigator < "u" ? navigator.locks : void 0;
		if (!o?.request) return i();
		let s = `medplum-refresh:${this.storage.makeKey("activeLogin")}`;
		return o.request(s, i);
	}
	async startClientLogin(n, r) {
		return this.clientId = n, this.clientSecret = r, this.fetchTokens({
			grant_type: at.ClientCredentials,
			client_id: n,
			client_secret: r
		});
	}
	async startJwtBearerLogin(n, r, i) {
		return this.clientId = n, this.fetchTokens({
			grant_type: at.JwtBearer,
			client_id: n,
			assertion: r,
			scope: i
		});
	}
	async startJwtAssertionLogin(n) {
		return this.fetchTokens({
			grant_type: at.ClientCredentials,
			client_assertion_type: Vu.JwtBearer,
			client_assertion: n
		});
	}
	setBasicAuth(n, r) {
		this.clientId = n, this.clientSecret = r, this.basicAuth = yn(n + ":" + r);
	}
	setLogLevel(n) {
		this.logLevel = n, this.options.verbose = n === "verbose";
	}
	getLogLevel() {
		return this.logLevel;
	}
	setVerbose(n) {
		this.logLevel = n ? "verbose" : "none", this.options.verbose = n;
	}
	async fhircastSubscribe(n, r) {
		if (!(typeof n == "string" && n !== "")) throw new m(S("Invalid topic provided. Topic must be a valid string."));
		if (!(typeof r == "object" && Array.isArray(r) && r.length > 0)) throw new m(S("Invalid events provided. Events must be an array of event names containing at least one event."));
		let i = {
			channelType: "websocket",
			mode: "subscribe",
			topic: n,
			events: r
		}, s = (await this.post(this.fhircastHubUrl, Nr(i), _.FORM_URL_ENCODED))["hub.channel.endpoint"];
		if (!s) throw new Error("Invalid response!");
		return i.endpoint = s, i;
	}
	async fhircastUnsubscribe(n) {
		if (!Tn(n)) throw new m(S("Invalid topic or subscriptionRequest. SubscriptionRequest must be an object."));
		if (!(n.endpoint && typeof n.endpoint == "string" && n.endpoint.startsWith("ws"))) throw new m(S("Provided subscription request must have an endpoint in order to unsubscribe."));
		n.mode = "unsubscribe", await this.post(this.fhircastHubUrl, Nr(n), _.FORM_URL_ENCODED);
	}
	fhircastConnect(n, r) {
		return new Sn(n, r);
	}
	async fhircastPublish(n, r, i, o) {
		return Qo(r) ? this.post(this.fhircastHubUrl, Lr(n, r, i, o), _.JSON) : (zo(r), this.post(this.fhircastHubUrl, Lr(n, r, i), _.JSON));
	}
	async fhircastGetContext(n) {
		return this.get(`${this.fhircastHubUrl}/${n}`, { cache: "no-cache" });
	}
	async invite(n, r) {
		return this.post("admin/projects/" + n + "/invite", r);
	}
	async handleTokenError(n) {
		try {
			let r = await n.json();
			throw lt(r) ? new m(r) : r.error_description ? new m(A(r.error_description)) : new Error(JSON.stringify(r));
		} catch (r) {
			throw r instanceof m ? (r.message = `Failed to fetch tokens: ${r.message}`, r) : new m(A("Failed to fetch tokens"), { cause: r });
		}
	}
	async fetchTokens(n) {
		let r = new URLSearchParams(n), i = {
			...this.defaultHeaders,
			"Content-Type": _.FORM_URL_ENCODED
		};
		this.basicAuth && (i.Authorization = `Basic ${this.basicAuth}`), this.credentialsInHeader && (r.delete("client_id"), r.delete("client_secret"), !this.basicAuth && n.client_id && n.client_secret && (i.Authorization = `Basic ${yn(n.client_id + ":" + n.client_secret)}`));
		let o = {
			method: "POST",
			headers: i,
			body: r.toString(),
			credentials: "include"
		}, s;
		try {
			s = await this.fetchWithRetry(this.tokenUrl, o);
		} catch (u) {
			throw this.refreshPromise = void 0, u;
		}
		s.ok || (this.clearActiveLogin(), this.onUnauthenticated?.(), await this.handleTokenError(s));
		let a = await s.json();
		return await this.verifyTokens(a), this.getProfile();
	}
	async verifyTokens(n) {
		let r = n.access_token;
		if (Ko(r)) {
			let i = bn(r);
			if (Date.now() >= i.exp * 1e3) throw this.clearActiveLogin(), new m(Di);
			if (i.cid) {
				if (i.cid !== this.clientId) throw this.clearActiveLogin(), new m(Kn);
			} else if (this.clientId && i.client_id !== this.clientId) throw this.clearActiveLogin(), new m(Kn);
		}
		return this.setActiveLogin({
			accessToken: r,
			refreshToken: n.refresh_token,
			project: n.project,
			profile: n.profile
		});
	}
	checkSessionDetailsMatchLogin(n) {
		return this.sessionDetails && n ? n.profile?.reference?.endsWith(this.sessionDetails.profile.id) ?? !1 : !0;
	}
	setupStorageListener() {
		try {
			window.addEventListener("storage", (n) => {
				if (n.key === null) ge.reload();
				else if (n.key === this.storage.makeKey("activeLogin")) {
					let r = n.oldValue ? JSON.parse(n.oldValue) : void 0, i = n.newValue ? JSON.parse(n.newValue) : void 0;
					r?.profile.reference !== i?.profile.reference || !this.checkSessionDetailsMatchLogin(i) ? ge.reload() : i ? this.setAccessToken(i.accessToken, i.refreshToken) : this.clear();
				}
			});
		} catch {}
	}
	getSubscriptionManager() {
		return this.subscriptionManager || (this.subscriptionManager = new Rn(this, xo(this.baseUrl, "/ws/subscriptions-r4"))), this.subscriptionManager;
	}
	subscribeToCriteria(n, r) {
		return this.getSubscriptionManager().addCriteria(n, r);
	}
	unsubscribeFromCriteria(n, r) {
		this.subscriptionManager && this.subscriptionManager.removeCriteria(n, r);
	}
	getMasterSubscriptionEmitter() {
		return this.getSubscriptionManager().getMasterEmitter();
	}
};
function _u() {
	if (!globalThis.fetch) throw new Error("Fetch not available in this environment");
	return globalThis.fetch.bind(globalThis);
}
async function ns(t, e) {
	let n = t.headers.get("content-location");
	if (n) return n;
	let r = t.headers.get("location");
	if (r) return r;
	if (lt(e) && e.issue?.[0]?.diagnostics) return e.issue[0].diagnostics;
}
function rs(t) {
	let e = t.entry?.map((n) => n.resource) ?? [];
	return Object.assign(e, { bundle: t });
}
function Nu(t) {
	return C(t) && "data" in t && "contentType" in t;
}
function is(t, e, n, r) {
	return Nu(t) ? t : {
		data: t,
		filename: e,
		contentType: n,
		onProgress: r
	};
}
function Lu(t) {
	return C(t) && "docDefinition" in t;
}
function Fu(t, e, n, r) {
	return Lu(t) ? t : {
		docDefinition: t,
		filename: e,
		tableLayouts: n,
		fonts: r
	};
}
function Uu(t) {
	return t.status === 429 || t.status >= 500;
}
[...bt];
Et().registerInfix("->", { precedence: T.Arrow }).registerInfix(";", { precedence: T.Semicolon });
Object.freeze({ implicitArrayCreation: !0 });
" ".repeat(2);
[...bt];
g.EXACT, g.NOT_EQUALS, g.CONTAINS, g.STARTS_WITH, g.GREATER_THAN, g.LESS_THAN, g.GREATER_THAN_OR_EQUALS, g.LESS_THAN_OR_EQUALS, g.APPROXIMATELY, g.STARTS_AFTER, g.ENDS_BEFORE, g.PRESENT, g.IN, g.NOT_IN, g.EQUALS, g.IDENTIFIER;
Et();
`${Lt}`;
`${Wn}`;
/*!
* Reconnecting WebSocket
* by Pedro Ladaria <pedro.ladaria@gmail.com>
* https://github.com/pladaria/reconnecting-websocket
* License MIT
*
* Copy of "partysocket" from Partykit team, a fork of the original "Reconnecting WebSocket"
* https://github.com/partykit/partykit/blob/main/packages/partysocket
*/
// node/subscribe.mjs
var baseUrl = process.env.FHIRBELL_URL;
var token = process.env.FHIRBELL_TOKEN;
var code = process.env.FHIRBELL_CODE || "8867-4";
var events = Number(process.env.FHIRBELL_EVENTS || "3");
var say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
var fail = (msg) => {
	say({
		step: "fail",
		msg: String(msg)
	});
	process.exit(1);
};
setTimeout(() => fail("timed out"), Number(process.env.FHIRBELL_TIMEOUT_MS || "30000")).unref();
var medplum = new Cn({
	baseUrl,
	verbose: !!process.env.FHIRBELL_VERBOSE
});
if (token) {
	medplum.setAccessToken(token);
	const profile = await medplum.getProfileAsync();
	say({
		step: "profile",
		profile: profile ? `${profile.resourceType}/${profile.id}` : null
	});
}
var patient = await medplum.createResource({
	resourceType: "Patient",
	name: [{
		family: "Medplum",
		given: ["Node"]
	}]
});
var found = await medplum.searchResources("Patient", { family: "Medplum" });
say({
	step: "rest",
	patient: patient.id,
	found: found.length
});
var criteria = `Observation?code=http://loinc.org|${code}`;
var counts = {
	connect: 0,
	heartbeat: 0,
	masterMessage: 0,
	message: 0,
	error: 0
};
var numbers = [];
var master = medplum.getMasterSubscriptionEmitter();
master.addEventListener("heartbeat", () => counts.heartbeat++);
master.addEventListener("message", () => counts.masterMessage++);
master.addEventListener("error", (e) => {
	counts.error++;
	say({
		step: "error",
		msg: String(e.payload?.message ?? e.payload)
	});
});
var emitter = medplum.subscribeToCriteria(criteria);
var wrote = false;
emitter.addEventListener("connect", async (e) => {
	counts.connect++;
	say({
		step: "connect",
		subscription: e.payload.subscriptionId
	});
	if (wrote) return;
	wrote = true;
	const sub = await medplum.readResource("Subscription", e.payload.subscriptionId);
	sub.channel.extension = [{
		url: "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period",
		valueUnsignedInt: 1
	}];
	await medplum.updateResource(sub);
	for (let i = 0; i < events; i++) {
		await medplum.createResource({
			resourceType: "Observation",
			status: "final",
			code: { coding: [{
				system: "http://loinc.org",
				code
			}] },
			subject: { reference: `Patient/${patient.id}` }
		});
		await medplum.createResource({
			resourceType: "Observation",
			status: "final",
			code: { coding: [{
				system: "http://loinc.org",
				code: "0000-0"
			}] }
		});
	}
});
emitter.addEventListener("message", (e) => {
	counts.message++;
	const status = e.payload.entry[0].resource;
	const focus = e.payload.entry[1]?.resource;
	for (const ev of status.notificationEvent ?? []) numbers.push(Number(ev.eventNumber));
	if (status.type !== "event-notification" || focus?.resourceType !== "Observation") fail(`message that is not an Observation event: ${JSON.stringify(e.payload).slice(0, 300)}`);
	if (counts.message === events) setTimeout(() => {
		say({
			step: "done",
			counts,
			numbers
		});
		medplum.getSubscriptionManager().closeWebSocket();
		process.exit(0);
	}, Number(process.env.FHIRBELL_SETTLE_MS || "2500"));
});
export {};
